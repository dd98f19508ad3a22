"""Our next-digest times (shown by `users list`) equal what Prefect's cron scheduler will create."""

from __future__ import annotations

import asyncio
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from prefect.server.schemas.schedules import CronSchedule

from novel_events.schedules import DAYS, Schedule

ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Santiago",
    "Pacific/Chatham",
    "Europe/London",
    "UTC",
    "America/Phoenix",
    "Asia/Tokyo",
]


def _prefect_dates(s: Schedule, start: dt.datetime, n: int) -> list[dt.datetime]:
    result = CronSchedule(cron=s.cron, timezone=s.timezone).get_dates(n=n, start=start)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return [d.astimezone(dt.UTC) for d in result]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    cadence=st.sampled_from(["daily", "weekdays", "weekends", "weekly"]),
    day=st.sampled_from(DAYS),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 1, 15, 30, 45, 59]),
    start=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2028, 12, 31)),
)
def test_same_times_as_prefect(zone: str, cadence: str, day: str, hour: int, minute: int, start: dt.datetime) -> None:
    s = Schedule.parse(cadence, f"{hour:02d}:{minute:02d}", zone, day if cadence == "weekly" else None)
    after = start.replace(tzinfo=dt.UTC)
    ours = [t.astimezone(dt.UTC) for t in s.next_times(after, n=8)]
    # Prefect's start is inclusive; ours is strictly after.
    theirs = [d for d in _prefect_dates(s, after + dt.timedelta(seconds=1), 8)]
    assert ours == theirs


def test_dst_days_match_prefect() -> None:
    for at, start in (
        ("02:30", dt.datetime(2027, 3, 12, tzinfo=dt.UTC)),
        ("01:30", dt.datetime(2026, 10, 30, tzinfo=dt.UTC)),
    ):
        s = Schedule.parse("daily", at, "America/New_York")
        assert [t.astimezone(dt.UTC) for t in s.next_times(start, n=5)] == _prefect_dates(s, start, 5)
