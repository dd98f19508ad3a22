"""Laws of the iCal expansion, on generated series: ids are unique, windows split cleanly, the density
estimate is an upper bound, and instances agree with an independent expansion (recurring-ical-events)."""

from __future__ import annotations

import datetime as dt

import icalendar
import recurring_ical_events
from dateutil import rrule as du
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from novel_events.sources.ics import read_calendar
from novel_events.sources.ics_rules import estimate, parse_rule

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def rules(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY"]))
    parts = [f"FREQ={freq}"]
    if freq != "HOURLY" and draw(st.booleans()):  # (an HOURLY interval can miss every BYHOUR: an empty rule)
        parts.append(f"INTERVAL={draw(st.integers(1, 4))}")
    if freq in {"WEEKLY", "DAILY"} and draw(st.booleans()):
        parts.append("BYDAY=" + ",".join(draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=3, unique=True))))
    if freq == "MONTHLY" and draw(st.booleans()):
        parts.append(
            "BYMONTHDAY=" + ",".join(map(str, draw(st.lists(st.integers(1, 31), min_size=1, max_size=3, unique=True))))
        )
    if freq == "YEARLY" and draw(st.booleans()):
        parts.append(
            "BYMONTH=" + ",".join(map(str, draw(st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True))))
        )
    if freq == "HOURLY":
        parts.append(f"BYHOUR={draw(st.integers(6, 9))},{draw(st.integers(12, 20))}")
    if draw(st.booleans()):
        parts.append(f"COUNT={draw(st.integers(1, 40))}")
    return ";".join(parts)


@st.composite
def feeds(draw: st.DrawFn) -> tuple[bytes, str]:
    tz = draw(st.sampled_from(ZONES))
    start = draw(st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2026, 6, 1)))
    start = start.replace(second=0, microsecond=0)
    rule = draw(rules())
    when = f"TZID={tz}:" if tz != "UTC" else ":"
    stamp = start.strftime("%Y%m%dT%H%M%S") + ("Z" if tz == "UTC" else "")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:p",
        "BEGIN:VEVENT",
        "UID:s",
        "SUMMARY:x",
        f"DTSTART;{when}{stamp}".replace(";:", ":"),
        "DURATION:PT45M",
        f"RRULE:{rule}",
    ]
    if draw(st.booleans()):  # an RDATE and an EXDATE too
        extra = (start + dt.timedelta(days=draw(st.integers(1, 60)), hours=1)).strftime("%Y%m%dT%H%M%S")
        lines.append(f"RDATE;{when}{extra}{'Z' if tz == 'UTC' else ''}".replace(";:", ":"))
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(lines) + "\r\n").encode(), rule


def _ids(data: bytes, a: dt.datetime, b: dt.datetime) -> list[str]:
    return [e["id"] for e in read_calendar(data, start=a, end=b, user_tz="UTC").dump.calendars[0].items]


WINDOW_A = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
COMMON = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(feeds(), st.integers(1, 700), st.integers(1, 700))
def test_ids_are_unique_and_windows_split_cleanly(feed: tuple[bytes, str], d1: int, d2: int) -> None:
    data, _ = feed
    a, b = WINDOW_A, WINDOW_A + dt.timedelta(days=d1)
    c = b + dt.timedelta(days=d2)
    whole = _ids(data, a, c)
    assert len(whole) == len(set(whole))
    assert set(whole) == set(_ids(data, a, b)) | set(_ids(data, b, c))


@COMMON
@given(feeds())
def test_instances_agree_with_recurring_ical_events(feed: tuple[bytes, str]) -> None:
    data, _ = feed
    a, b = WINDOW_A, WINDOW_A + dt.timedelta(days=500)
    ours = {
        (dt.datetime.fromisoformat(e["start"]["dateTime"]).astimezone(dt.UTC))
        for e in read_calendar(data, start=a, end=b, user_tz="UTC").dump.calendars[0].items
    }
    theirs = {
        o["DTSTART"].dt.astimezone(dt.UTC)
        for o in recurring_ical_events.of(icalendar.Calendar.from_ical(data)).between(a, b)
    }
    assert ours == theirs


@COMMON
@given(
    rules(), st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2030, 1, 1)), st.integers(1, 3 * 365)
)
def test_density_estimate_is_an_upper_bound(text: str, start: dt.datetime, days: int) -> None:
    rule = parse_rule(text)
    end = start + dt.timedelta(days=days)
    actual = (
        sum(1 for x in du.rrulestr(text, dtstart=start) if x < end)
        if rule.count
        else len(du.rrulestr(text, dtstart=start).between(start, end, inc=True))
    )
    assert estimate(rule, start, end) >= actual
