"""Schedule -> cron + zone, next fire times, and the DST policy (table-driven)."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from novel_events.errors import InvalidInput
from novel_events.schedules import Schedule

NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("cadence", "at", "day", "cron"),
    [
        ("daily", "07:30", None, "30 7 * * *"),
        ("weekdays", "06:05", None, "5 6 * * 1-5"),
        ("weekends", "09:00", None, "0 9 * * 0,6"),
        ("weekly", "18:45", "sun", "45 18 * * 0"),
        ("weekly", "00:00", "mon", "0 0 * * 1"),
        ("weekly", "23:59", "Saturday", "59 23 * * 6"),
        ("DAILY", "7:00", None, "0 7 * * *"),
    ],
)
def test_cron(cadence: str, at: str, day: str | None, cron: str) -> None:
    assert Schedule.parse(cadence, at, "Europe/Berlin", day).cron == cron


@pytest.mark.parametrize(
    ("cadence", "at", "tz", "day", "field"),
    [
        ("daily", "25:00", "UTC", None, "--at"),
        ("daily", "12:60", "UTC", None, "--at"),
        ("daily", "noon", "UTC", None, "--at"),
        ("daily", "", "UTC", None, "--at"),
        ("hourly", "07:00", "UTC", None, "--schedule"),
        ("daily", "07:00", "Mars/Olympus", None, "--timezone"),
        ("daily", "07:00", "", None, "--timezone"),
        ("daily", "07:00", "UTC", "mon", "--day"),
        ("weekdays", "07:00", "UTC", "fri", "--day"),
        ("weekly", "07:00", "UTC", None, "--day"),
        ("weekly", "07:00", "UTC", "funday", "--day"),
        ("weekly", "07:00", "UTC", "monx", "--day"),
    ],
)
def test_bad_input_names_the_field(cadence: str, at: str, tz: str, day: str | None, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Schedule.parse(cadence, at, tz, day)
    assert err.value.field == field
    assert "\n" not in str(err.value)


def _local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NY)


@pytest.mark.parametrize(
    ("at", "after", "expected_local", "expected_utc"),
    [
        # spring forward 2027-03-14: 02:30 does not exist -> once, at 03:30 EDT
        ("02:30", _local(2027, 3, 13, 12), (2027, 3, 14, 3, 30), (2027, 3, 14, 7, 30)),
        ("02:30", _local(2027, 3, 14, 4), (2027, 3, 15, 2, 30), (2027, 3, 15, 6, 30)),
        # fall back 2026-11-01: 01:30 happens twice -> once, the first (EDT)
        ("01:30", _local(2026, 10, 31, 12), (2026, 11, 1, 1, 30), (2026, 11, 1, 5, 30)),
        ("01:30", _local(2026, 11, 1, 1, 45), (2026, 11, 2, 1, 30), (2026, 11, 2, 6, 30)),
    ],
)
def test_dst_next_time(
    at: str, after: dt.datetime, expected_local: tuple[int, ...], expected_utc: tuple[int, ...]
) -> None:
    nxt = Schedule.parse("daily", at, "America/New_York").next_times(after)[0]
    assert nxt.astimezone(NY).timetuple()[:5] == expected_local
    assert nxt.astimezone(dt.UTC).timetuple()[:5] == expected_utc


@pytest.mark.parametrize(("at", "day"), [("02:30", dt.date(2027, 3, 14)), ("01:30", dt.date(2026, 11, 1))])
def test_dst_day_fires_exactly_once(at: str, day: dt.date) -> None:
    s = Schedule.parse("daily", at, "America/New_York")
    times = s.next_times(_local(day.year, day.month, day.day) - dt.timedelta(days=2), n=6)
    on_day = [t for t in times if t.astimezone(NY).date() == day]
    assert len(on_day) == 1
    gaps = {(b - a) for a, b in itertools.pairwise(times)}
    assert all(dt.timedelta(hours=23) <= g <= dt.timedelta(hours=25) for g in gaps)


@pytest.mark.parametrize(
    ("cadence", "day", "start", "weekdays"),
    [
        ("weekdays", None, dt.date(2026, 11, 28), {0, 1, 2, 3, 4}),
        ("weekends", None, dt.date(2026, 11, 28), {5, 6}),
        ("weekly", "wed", dt.date(2026, 11, 28), {2}),
        ("daily", None, dt.date(2026, 11, 28), set(range(7))),
    ],
)
def test_cadence_days(cadence: str, day: str | None, start: dt.date, weekdays: set[int]) -> None:
    s = Schedule.parse(cadence, "08:00", "Asia/Tokyo", day)
    tz = ZoneInfo("Asia/Tokyo")
    times = s.next_times(dt.datetime(start.year, start.month, start.day, tzinfo=tz), n=14)
    assert {t.astimezone(tz).weekday() for t in times} == weekdays
    assert all(t.astimezone(tz).time() == dt.time(8, 0) for t in times)
    assert times == sorted(times) and len(set(times)) == len(times)


def test_next_times_needs_aware_datetime() -> None:
    with pytest.raises(ValueError):
        Schedule.parse("daily", "08:00", "UTC").next_times(dt.datetime(2026, 1, 1))
