"""The web app in-process (Starlette's TestClient) against the session's real Prefect server and fake Google.

Each test signs in its own Google account (unique address), so tests isolate by user, as everywhere.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from novel_events.settings import Settings
from tests.conftest import unique_id
from tests.fakes.google_calendar import FakeAccount, FakeGoogleCalendar, calendar_entry, timed_event, weekly_series

SECRET = "web-tests-secret-key-0123456789abcdef"
API_TOKEN = "api-token-for-the-tests-0123456789"


@pytest.fixture(scope="session")
def web_settings(initialized: str, session_google: FakeGoogleCalendar) -> Settings:
    # explicit values win over the environment; the rest (store, Google endpoints) come from the session's env
    return Settings(public_url="http://testserver", secret_key=SECRET, api_token=API_TOKEN,  # type: ignore[arg-type]
                    google_auth_uri=session_google.auth_uri)


@pytest.fixture(scope="session")
def web_app(web_settings: Settings) -> Any:
    from web.app import create_app

    return create_app(web_settings, login_per_minute=10_000)  # many sign-ups from one test client


@pytest.fixture
def client(web_app: Any) -> Iterator[TestClient]:
    with TestClient(web_app) as c:
        yield c


def google_dump(address: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """A Google account: a routine (weekly series) and three one-offs ahead, two calendars."""
    now = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = (now - dt.timedelta(weeks=20)).replace(hour=9, minute=0, second=0)
    items = weekly_series("standup", start, 24, summary="Team sync")
    items += [timed_event("dentist", now + dt.timedelta(days=2), summary="Dentist"),
              timed_event("lisbon", now + dt.timedelta(days=3), summary="Flight to Lisbon"),
              timed_event("pottery", now + dt.timedelta(days=4), summary="Pottery taster")]
    return {"timeZone": "Europe/Lisbon", "calendars": [
        calendar_entry(address, address, items, primary=True, timeZone="Europe/Lisbon"),
        calendar_entry(f"family-{address}", "Family", [], timeZone="Europe/Lisbon")]}


def new_account(fake: FakeGoogleCalendar) -> tuple[FakeAccount, str]:
    address = f"{unique_id('web')}@example.org"
    account = fake.add_account(google_dump(address))
    fake.account = account  # the consent screen signs in as this account
    return account, address


def consent(client: TestClient, fake: FakeGoogleCalendar) -> str:
    """/auth/google/start → the fake's consent screen; returns our callback path + query (not yet opened)."""
    start = client.get("/auth/google/start", follow_redirects=False)
    assert start.status_code == 303, start.text
    back = httpx.get(start.headers["location"], follow_redirects=False)
    assert back.status_code == 302, back.text
    url = urllib.parse.urlsplit(back.headers["location"])
    assert f"{url.scheme}://{url.netloc}" == "http://testserver" and url.path == "/auth/google/callback"
    return f"{url.path}?{url.query}"


@pytest.fixture
def signed_in(web_app: Any, session_google: FakeGoogleCalendar) -> Iterator[Callable[[], tuple[TestClient, str]]]:
    """Sign a new Google account up through the whole flow, each in its own browser; returns (client, user id)."""
    browsers: list[TestClient] = []

    def sign_up() -> tuple[TestClient, str]:
        from tasks import store

        client = TestClient(web_app)
        browsers.append(client)
        _account, address = new_account(session_google)
        done = client.get(consent(client, session_google), follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/settings", done.text
        (uid,) = [u.id for u in store.users().list() if u.email == address]
        return client, uid

    yield sign_up
    for c in browsers:
        c.close()
