"""Settings pages, links from emails and the web's security rules, in-process against the real Prefect server."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prefect import get_client

from novel_events.links import LinkSigner
from novel_events.novelty import MuteRule
from novel_events.settings import Settings
from tasks import store
from web.app import SESSION_COOKIE, create_app

SignUp = Callable[[], tuple[TestClient, str]]


def _deployment(uid: str) -> Any:
    async def read() -> Any:
        async with get_client() as c:
            return await c.read_deployment_by_name(f"novel-events-digest/user-{uid}")

    return asyncio.run(read())


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m, "every form carries a CSRF token"
    return m.group(1)


def _form(client: TestClient, **changes: str) -> dict[str, Any]:
    """The settings form as the page fills it in, with ``changes``."""
    page = client.get("/settings").text
    user_email = re.search(r'id="email" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    listed = re.findall(r'name="calendars_listed" value="([^"]+)"', page)
    form: dict[str, Any] = {
        "csrf": _csrf(page),
        "enabled": "on",
        "email": user_email,
        "schedule": "daily",
        "day": "mon",
        "at": "07:00",
        "timezone": "Europe/Lisbon",
        "lookahead_days": "14",
        "sensitivity": "normal",
        "calendars_listed": listed,
        "calendars": listed,
    }
    form.update(changes)
    return form


def _signer(settings: Settings) -> LinkSigner:
    signer = settings.link_signer()
    assert signer is not None
    return signer


def test_session_cookie_is_signed_httponly_lax(signed_in: SignUp) -> None:
    client, _uid = signed_in()
    header = client.get("/settings").headers["set-cookie"].lower()
    assert header.startswith(f"{SESSION_COOKIE}=") and "httponly" in header and "samesite=lax" in header
    assert "secure" not in header  # PUBLIC_URL is http here
    assert client.cookies[SESSION_COOKIE].count(".") >= 2  # itsdangerous-signed payload
    # a tampered cookie is no session at all
    forged = TestClient(client.app, cookies={SESSION_COOKIE: client.cookies[SESSION_COOKIE][:-2] + "xx"})
    assert forged.get("/settings").status_code == 401


def test_cookie_is_secure_behind_https(web_settings: Settings) -> None:
    app = create_app(web_settings.model_copy(update={"public_url": "https://digest.example.org"}))
    with TestClient(app, base_url="https://digest.example.org") as c:
        r = c.get("/")
    header = r.headers["set-cookie"].lower()
    assert "secure" in header and "httponly" in header and "samesite=lax" in header


def test_save_settings_reconciles_before_answering(signed_in: SignUp) -> None:
    client, uid = signed_in()
    r = client.post(
        "/settings",
        data=_form(
            client,
            schedule="weekly",
            day="wed",
            at="18:45",
            timezone="America/Denver",
            lookahead_days="21",
            sensitivity="high",
            send_when_empty="on",
        ),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/settings"
    user = store.users().get(uid)
    assert user.schedule.describe() == "weekly on Wednesday at 18:45 America/Denver"
    assert (user.lookahead_days, user.sensitivity, user.send_when_empty) == (21, "high", True)
    dep = _deployment(uid)
    (sched,) = dep.schedules
    assert (sched.schedule.cron, sched.schedule.timezone) == ("45 18 * * 3", "America/Denver")
    assert "Saved. Next digest" in client.get("/settings").text


def test_only_some_calendars(signed_in: SignUp) -> None:
    client, uid = signed_in()
    form = _form(client)
    primary = store.users().get(uid).email
    client.post("/settings", data={**form, "calendars": [primary]})
    assert store.users().get(uid).include_calendars == (primary,)
    none = client.post("/settings", data={**form, "calendars": []})
    assert none.status_code == 422 and "choose at least one calendar" in none.text
    assert store.users().get(uid).include_calendars == (primary,)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("at", "25:00", "--at: &#39;25:00&#39; is not a time of day; use HH:MM from 00:00 to 23:59"),
        ("timezone", "Mars/Olympus", "--timezone"),
        ("email", "not-an-address", "--email: &#39;not-an-address&#39; is not an email address"),
        ("lookahead_days", "99", "--lookahead-days: 99 is out of range; use a whole number 1-60"),
    ],
)
def test_bad_input_says_what_the_cli_says_and_changes_nothing(
    signed_in: SignUp, field: str, value: str, message: str
) -> None:
    client, uid = signed_in()
    before = store.users().get(uid)
    r = client.post("/settings", data=_form(client, **{field: value}))
    assert r.status_code == 422 and message in r.text
    assert store.users().get(uid) == before


def test_every_form_needs_the_session_csrf_token(signed_in: SignUp) -> None:
    client, uid = signed_in()
    before = store.users().get(uid)
    form = _form(client, at="05:05")
    for token in (None, "x" * 43):
        data = {**form, "csrf": token} if token else {k: v for k, v in form.items() if k != "csrf"}
        assert client.post("/settings", data=data).status_code == 403
    assert client.post("/settings/run", data={}).status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    assert store.users().get(uid) == before


def test_one_person_never_sees_or_changes_anothers_settings(signed_in: SignUp) -> None:
    alice_client, alice = signed_in()
    bob_client, bob = signed_in()
    alice_email, bob_email = store.users().get(alice).email, store.users().get(bob).email
    store.mutes().add(bob, MuteRule("title", "dentist", "Dentist"))
    (bob_mute,) = store.mutes().list(bob)
    # Alice's pages show Alice only: nothing takes a user id from the request
    page = alice_client.get(f"/settings?user={bob}&id={bob}&uid={bob}").text
    assert alice_email in page and bob_email not in page and "Dentist" not in page
    r = alice_client.post(
        "/settings", data=_form(alice_client, at="06:15", id=bob, user=bob, uid=bob), follow_redirects=False
    )
    assert r.status_code == 303
    assert store.users().get(alice).schedule.at == dt.time(6, 15)
    assert store.users().get(bob).schedule.at == dt.time(7, 0)  # Bob untouched
    # Alice cannot remove Bob's mute rule by its id
    alice_client.post(f"/settings/mutes/{bob_mute.id}/delete", data={"csrf": _csrf(page)})
    assert store.mutes().rules(bob) == (bob_mute.rule,)
    # nor open Bob's settings with a link she signed herself
    forged = LinkSigner("http://testserver", b"not-the-server-key-0123456789").manage_url(bob, dt.datetime.now(dt.UTC))
    assert alice_client.get(forged.removeprefix("http://testserver")).status_code == 400
    assert bob_email in bob_client.get("/settings").text and alice_email not in bob_client.get("/settings").text


def test_manage_link_opens_settings_without_a_password(signed_in: SignUp, web_settings: Settings) -> None:
    _client, uid = signed_in()
    url = _signer(web_settings).manage_url(uid, dt.datetime.now(dt.UTC))
    with TestClient(_client.app) as fresh:
        r = fresh.get(url.removeprefix("http://testserver"), follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/settings"  # our own path, always
        assert store.users().get(uid).email in fresh.get("/settings").text
    old = _signer(web_settings).manage_url(uid, dt.datetime.now(dt.UTC) - dt.timedelta(days=31))
    with TestClient(_client.app) as fresh:
        r = fresh.get(old.removeprefix("http://testserver"))
        assert r.status_code == 400 and "expired" in r.text and fresh.get("/settings").status_code == 401


def test_unsubscribe_get_changes_nothing_one_click_post_pauses(signed_in: SignUp, web_settings: Settings) -> None:
    _client, uid = signed_in()
    path = _signer(web_settings).unsubscribe_url(uid, dt.datetime.now(dt.UTC)).removeprefix("http://testserver")
    with TestClient(_client.app) as scanner:  # a link scanner (or the person) opens the link
        page = scanner.get(path)
        assert page.status_code == 200 and "Stop your digest?" in page.text
        assert store.users().get(uid).enabled and not _deployment(uid).paused
        assert scanner.post(path, data={"List-Unsubscribe": "Nope"}).status_code == 400
        assert store.users().get(uid).enabled
    # RFC 8058: the mail provider POSTs, with no cookie and no CSRF token
    with TestClient(_client.app) as provider:
        r = provider.post(
            path, content=b"List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
    assert r.status_code == 200 and "paused" in r.text
    assert not store.users().get(uid).enabled and _deployment(uid).paused
    assert TestClient(_client.app).post(path + "x", data={"List-Unsubscribe": "One-Click"}).status_code == 400


def test_mute_link_asks_then_hides_and_settings_show_it_again(signed_in: SignUp, web_settings: Settings) -> None:
    client, uid = signed_in()
    rule = MuteRule("title", "dentist", "Dentist")
    path = _signer(web_settings).mute_url(uid, rule, dt.datetime.now(dt.UTC)).removeprefix("http://testserver")
    page = client.get(path)
    assert page.status_code == 200 and "Dentist" in page.text and store.mutes().rules(uid) == ()
    assert client.post(path, data={}).status_code == 403  # the confirmation form carries CSRF
    done = client.post(path, data={"csrf": _csrf(page.text)})
    assert done.status_code == 200 and store.mutes().rules(uid) == (rule,)
    settings = client.get("/settings").text
    assert "Dentist" in settings
    (m,) = store.mutes().list(uid)
    client.post(f"/settings/mutes/{m.id}/delete", data={"csrf": _csrf(settings)})
    assert store.mutes().rules(uid) == ()


def test_preview_renders_and_sends_nothing(signed_in: SignUp) -> None:
    client, uid = signed_in()
    outbox = Settings().outbox
    before = sorted(outbox.glob("*.eml")) if outbox.exists() else []
    r = client.get("/settings/preview")
    assert r.status_code == 200 and "Nothing was sent" in r.text
    assert "Flight to Lisbon" in r.text and "Team sync" not in r.text  # the real novelty engine ran
    assert (sorted(outbox.glob("*.eml")) if outbox.exists() else []) == before
    assert store.ledger().recent(uid) == []


def test_sign_in_is_rate_limited(web_settings: Settings) -> None:
    app = create_app(web_settings, login_per_minute=3)
    with TestClient(app) as c:
        codes = [c.get("/auth/google/start", follow_redirects=False).status_code for _ in range(4)]
    assert codes == [303, 303, 303, 429]


def test_logout(signed_in: SignUp) -> None:
    client, _uid = signed_in()
    page = client.get("/settings").text
    assert client.post("/logout", data={"csrf": _csrf(page)}, follow_redirects=False).headers["location"] == "/"
    assert client.get("/settings").status_code == 401


def test_pages_escape_what_people_typed(signed_in: SignUp) -> None:
    client, _uid = signed_in()
    r = client.post("/settings", data=_form(client, at="<script>alert(1)</script>"))
    assert r.status_code == 422 and "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
