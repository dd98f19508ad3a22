"""The Google adapter tests' calendar data and their per-test account on the shared fake Google."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from novel_events.sources.google import (
    GoogleFetch,
    RetryPolicy,
    UserGrant,
    fetch_google_calendar,
    new_state_key,
)
from tests.fakes.google_calendar import (
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
            calendar_entry(BIRTHDAYS, "Birthdays", [all_day_event("bday", dt.date(2025, 6, 20), eventType="birthday")]),
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
