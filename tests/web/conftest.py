"""The web app in-process (Starlette's TestClient) against the session's real Prefect server and fake Google.

Each test signs in its own Google account (unique address), so tests isolate by user, as everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from novel_events.settings import Settings
from tests.fakes.google_calendar import FakeGoogleCalendar
from tests.support.web import API_TOKEN, SECRET, consent, new_account


@pytest.fixture(scope="session")
def web_settings(initialized: str, session_google: FakeGoogleCalendar) -> Settings:
    # explicit values win over the environment; the rest (store, Google endpoints) come from the session's env
    return Settings(
        public_url="http://testserver",
        secret_key=SECRET,
        api_token=API_TOKEN,  # type: ignore[arg-type]
        google_auth_uri=session_google.auth_uri,
    )


@pytest.fixture(scope="session")
def web_app(web_settings: Settings) -> Any:
    from web.app import create_app

    return create_app(web_settings, login_per_minute=10_000)  # many sign-ups from one test client


@pytest.fixture
def client(web_app: Any) -> Iterator[TestClient]:
    with TestClient(web_app) as c:
        yield c


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
