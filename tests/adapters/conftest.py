"""Fixtures of the Google Calendar adapter tests: one fake Google per session, one account per test.

Tests isolate by account (unique name and refresh token; faults scoped to the account), not by
restarting the server. Data and the ``GoogleUser`` helper live in tests/support/google.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from novel_events.sources.google import UserGrant
from tests.fakes.google_calendar import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeGoogleCalendar
from tests.support.google import GoogleUser, basic_dump


@pytest.fixture(scope="session")
def google_fake() -> Iterator[FakeGoogleCalendar]:
    with FakeGoogleCalendar() as fake:
        yield fake


@pytest.fixture
def make_google_user(google_fake: FakeGoogleCalendar) -> Iterator[Callable[..., GoogleUser]]:
    made: list[str] = []

    def make(dump: Mapping[str, Any] | None = None, **account_kwargs: Any) -> GoogleUser:
        name = f"user-{uuid.uuid4().hex[:10]}"
        token = f"1//test-refresh-{uuid.uuid4().hex}"
        account = google_fake.add_account(dump or basic_dump(), refresh_token=token, name=name, **account_kwargs)
        made.append(name)
        grant = UserGrant(token, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, google_fake.token_uri)
        return GoogleUser(google_fake, account, grant)

    yield make
    with google_fake.lock:  # faults a test left unused must not hit the next test
        google_fake.faults[:] = [f for f in google_fake.faults if f.account not in made]


@pytest.fixture
def google_user(make_google_user: Callable[..., GoogleUser]) -> GoogleUser:
    return make_google_user()
