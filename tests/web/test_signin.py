"""Google sign-up on the web against the fake Google: authorization-code flow + PKCE, real client libraries."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable

import httpx
from fastapi.testclient import TestClient
from prefect import get_client

from novel_events.sources.google_auth import READONLY_SCOPE
from tasks import store
from tasks.credentials import load_grant
from tests.fakes.google_calendar import FakeGoogleCalendar
from tests.fakes.google_oauth_web import expire_codes
from tests.support.web import consent, new_account


def _deployment(uid: str):  # type: ignore[no-untyped-def]
    async def read():  # type: ignore[no-untyped-def]
        async with get_client() as c:
            return await c.read_deployment_by_name(f"novel-events-digest/user-{uid}")

    return asyncio.run(read())


def _users_with(address: str) -> list[str]:
    return [u.id for u in store.users().list() if u.email == address]


def test_the_authorization_request(client: TestClient, session_google: FakeGoogleCalendar) -> None:
    start = client.get("/auth/google/start?next=https://evil.example/", follow_redirects=False)
    assert start.status_code == 303
    url = urllib.parse.urlsplit(start.headers["location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == session_google.auth_uri  # never the ?next= above
    q = dict(urllib.parse.parse_qsl(url.query))
    assert q["redirect_uri"] == "http://testserver/auth/google/callback"
    assert q["scope"] == READONLY_SCOPE and q["access_type"] == "offline" and q["response_type"] == "code"
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43 and len(q["state"]) >= 32


def test_sign_up_creates_the_user_stores_the_grant_and_schedules_the_digest(
    signed_in: Callable[[], tuple[TestClient, str]], session_google: FakeGoogleCalendar
) -> None:
    client, uid = signed_in()
    user = store.users().get(uid)
    assert "@" not in uid and user.email.endswith("@example.org") and user.source == "google"
    assert user.timezone == "Europe/Lisbon"  # from the account's calendar setting
    assert load_grant(uid).client_id  # stored as `connect` stores it
    dep = _deployment(uid)
    assert dep.schedules and not dep.paused  # reconciled before the answer
    page = client.get("/settings")
    assert page.status_code == 200 and user.email in page.text and "Family" in page.text  # calendar list
    # signing in again finds the same person
    new_account_client = TestClient(client.app)
    session_google.account = next(a for a in session_google.accounts.values() if a.primary_id == user.email)
    again = new_account_client.get(consent(new_account_client, session_google), follow_redirects=False)
    assert again.status_code == 303
    assert _users_with(user.email) == [uid]


def test_refused_consent_stores_nothing(client: TestClient, session_google: FakeGoogleCalendar) -> None:
    _account, address = new_account(session_google)
    session_google.consent_error = "access_denied"
    try:
        callback = consent(client, session_google)
    finally:
        session_google.consent_error = None
    page = client.get(callback)
    assert page.status_code == 400 and "did not allow" in page.text
    assert _users_with(address) == [] and client.get("/settings").status_code == 401


def test_bad_or_replayed_state_stores_nothing(client: TestClient, session_google: FakeGoogleCalendar) -> None:
    _account, address = new_account(session_google)
    callback = consent(client, session_google)
    forged = callback.replace("state=", "state=x")
    assert client.get(forged).status_code == 400  # and the pending sign-in is spent
    assert client.get(callback).status_code == 400
    assert _users_with(address) == []
    # a state from another browser's sign-in does not work here
    other = TestClient(client.app)
    callback = consent(other, session_google)
    assert client.get(callback).status_code == 400
    assert _users_with(address) == []
    ok = other.get(callback, follow_redirects=False)
    assert ok.status_code == 303 and len(_users_with(address)) == 1
    assert other.get(callback).status_code == 400  # replaying the same callback does nothing more


def test_expired_code_stores_nothing(client: TestClient, session_google: FakeGoogleCalendar) -> None:
    _account, address = new_account(session_google)
    callback = consent(client, session_google)
    expire_codes(session_google.auth_codes)
    page = client.get(callback)
    assert page.status_code == 400 and "expired" in page.text
    assert _users_with(address) == []


def test_fake_token_endpoint_checks_pkce_and_single_use(session_google: FakeGoogleCalendar) -> None:
    new_account(session_google)
    from tests.fakes.google_calendar import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    def authorize(challenge: str, method: str = "S256") -> str:
        r = httpx.get(
            session_google.auth_uri,
            params={
                "client_id": DEFAULT_CLIENT_ID,
                "redirect_uri": "http://app.example/cb",
                "response_type": "code",
                "scope": READONLY_SCOPE,
                "code_challenge": challenge,
                "code_challenge_method": method,
            },
        )
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["location"]).query))["code"]

    def redeem(code: str, verifier: str) -> httpx.Response:
        return httpx.post(
            session_google.token_uri,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "http://app.example/cb",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "code_verifier": verifier,
            },
        )

    from web.oauth import pkce_pair

    verifier, challenge = pkce_pair()
    bad = redeem(authorize(challenge), "not-the-verifier")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    code = authorize(challenge)
    assert redeem(code, verifier).status_code == 200
    assert redeem(code, verifier).status_code == 400  # once
    plain = redeem(authorize(verifier, "plain"), verifier)
    assert plain.status_code == 400 and plain.json()["error"] == "invalid_request"
