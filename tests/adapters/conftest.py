"""Fixtures of the Google Calendar adapter tests: one fake Google per session, one account per test.

Tests isolate by account (unique name and refresh token; faults scoped to the account), not by
restarting the server.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from novel_events.sources.google import (
    GoogleFetch,
    RetryPolicy,
    UserGrant,
    fetch_google_calendar,
    new_state_key,
)
from tests.fakes.google_calendar import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    FakeAccount,
    FakeGoogleCalendar,
    RecordedRequest,
    all_day_event,
    calendar_entry,
    timed_event,
    weekly_series,
)

NOW = dt.datetime(2025, 6, 18, 4, 0, tzinfo=dt.UTC)
TIME_MIN = NOW - dt.timedelta(days=365)
TIME_MAX = NOW + dt.timedelta(days=14)
PRIMARY = "alice@example.com"
WORK = "c_work@group.calendar.google.com"
KIDS = "c_kids@group.calendar.google.com"
HOLIDAYS = "en.german#holiday@group.v.calendar.google.com"
BIRTHDAYS = "addressbook#contacts@group.v.calendar.google.com"


def basic_dump() -> dict[str, Any]:
    """A year of a small life: primary, work, a shared calendar renamed by the user, holidays, birthdays."""
    start = TIME_MIN + dt.timedelta(days=1, hours=8)
    return {
        "timeZone": "Europe/Berlin",
        "calendars": [
            calendar_entry(
                PRIMARY,
                PRIMARY,
                [*weekly_series("standup", start, 54), timed_event("dentist", NOW + dt.timedelta(days=3))],
                primary=True,
            ),
            calendar_entry(WORK, "Work", weekly_series("review", start + dt.timedelta(hours=3), 54)),
            calendar_entry(
                KIDS,
                "School (shared)",
                [timed_event("play", NOW + dt.timedelta(days=5))],
                summaryOverride="Kids",
            ),
            calendar_entry(HOLIDAYS, "Holidays in Germany", [all_day_event("xmas", dt.date(2024, 12, 25))]),
            calendar_entry(
                BIRTHDAYS, "Birthdays", [all_day_event("bday", dt.date(2025, 6, 20), eventType="birthday")]
            ),
        ],
    }


@dataclass
class GoogleUser:
    """One test's account on the shared fake, with a grant and a fetch that never really sleeps."""

    fake: FakeGoogleCalendar
    account: FakeAccount
    grant: UserGrant
    sleeps: list[float] = field(default_factory=list)
    key: bytes = field(default_factory=new_state_key)

    @property
    def name(self) -> str:
        return self.account.name

    def policy(self, **overrides: Any) -> RetryPolicy:
        settings: dict[str, Any] = {"sleep": self.sleeps.append, "jitter": lambda: 1.0, **overrides}
        return RetryPolicy(**settings)

    def fetch(self, *, retry: RetryPolicy | None = None, **kwargs: Any) -> GoogleFetch:
        args: dict[str, Any] = {
            "time_min": TIME_MIN,
            "time_max": TIME_MAX,
            "api_endpoint": self.fake.base_url,
            "retry": retry or self.policy(),
            "timeout": 5.0,
        }
        args.update(kwargs)
        return fetch_google_calendar(self.grant, **args)

    def sync(self, state: bytes | None = None, **kwargs: Any) -> GoogleFetch:
        """A fetch that keeps sync state under this user's key."""
        return self.fetch(state=state, state_key=self.key, **kwargs)

    def fail_next(self, status: int, reason: str | None = None, **kwargs: Any) -> None:
        self.fake.fail_next(status, reason, account=self.name, **kwargs)

    def requests(self) -> list[RecordedRequest]:
        with self.fake.lock:
            return [r for r in self.fake.requests if r.account == self.name]

    def api_requests(self) -> list[RecordedRequest]:
        return self.fake.api_requests(self.name)

    def events_requests(self) -> list[RecordedRequest]:
        return [r for r in self.api_requests() if r.path.endswith("/events")]

    def token_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests() if r.path == "/token"]


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
        account = google_fake.add_account(
            dump or basic_dump(), refresh_token=token, name=name, **account_kwargs
        )
        made.append(name)
        grant = UserGrant(token, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, google_fake.token_uri)
        return GoogleUser(google_fake, account, grant)

    yield make
    with google_fake.lock:  # faults a test left unused must not hit the next test
        google_fake.faults[:] = [f for f in google_fake.faults if f.account not in made]


@pytest.fixture
def google_user(make_google_user: Callable[..., GoogleUser]) -> GoogleUser:
    return make_google_user()
