"""``analyze``: window, order, zones, preferences, bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from novel_events.errors import InvalidInput
from novel_events.events import CalendarData, CalendarDump
from novel_events.novelty import NoveltyPrefs, analyze


def test_window_is_now_to_lookahead(make_cal: Any) -> None:
    cal = make_cal()
    cal.event("Before now", cal.now - dt.timedelta(minutes=1))
    at_now = cal.event("At now", cal.now)
    last = cal.event("Last minute", cal.now + dt.timedelta(days=14, minutes=-1))
    cal.event("Too late", cal.now + dt.timedelta(days=14))
    assert cal.novel_ids() == [at_now["id"], last["id"]]
    assert cal.novel_ids(lookahead_days=1) == [at_now["id"]]


def test_chronological_by_absolute_start_then_calendar_then_id(make_cal: Any) -> None:
    cal = make_cal()
    other = cal.calendar("aaa@group.calendar.google.com", "Family")
    b = cal.event("B", cal.at(2, 10), eid="b")
    a = cal.event("A", cal.at(2, 10), eid="a")
    fam = cal.event("F", cal.at(2, 10), cal=other, eid="z")
    tokyo = cal.event("Tokyo call", cal.at(2, 16), zone="Asia/Tokyo")  # 16:00 Berlin = 23:00 Tokyo
    early = cal.event("Early", cal.at(1, 23))
    found = cal.run()
    assert [n.event_id for n in found] == [early["id"], fam["id"], a["id"], b["id"], tokyo["id"]]
    assert [n.start for n in found] == sorted(n.start for n in found)


def test_all_day_events_stay_dates(make_cal: Any) -> None:
    cal = make_cal()
    ev = cal.all_day("Moving day", cal.at(3).date(), days=2)
    (found,) = cal.run()
    assert found.event_id == ev["id"]
    assert found.all_day is True
    assert found.start == dt.datetime(2025, 6, 21, tzinfo=ZoneInfo("Europe/Berlin"))
    assert found.event["start"] == {"date": "2025-06-21"}


def test_all_day_today_has_started(make_cal: Any) -> None:
    cal = make_cal()
    cal.all_day("Today", cal.at(0).date())
    assert cal.novel_ids() == []


def test_user_tz_defaults_to_dump_zone_and_can_be_overridden(make_cal: Any) -> None:
    cal = make_cal()
    ev = cal.all_day("Fair", cal.at(14).date())  # 2025-07-02 00:00 Berlin: inside [now, now+14d)
    assert cal.novel_ids() == [ev["id"]]
    # in New York, July 2nd starts six hours later: after the window's end (July 2nd 06:00 Berlin)
    assert cal.novel_ids(user_tz="America/New_York") == []
    (found,) = cal.run(user_tz="Asia/Tokyo")
    assert found.start == dt.datetime(2025, 7, 2, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_include_and_exclude_calendars_by_id_or_name(make_cal: Any) -> None:
    cal = make_cal()
    fam = cal.calendar("c_123@group.calendar.google.com", "Family")
    mine = cal.event("Mine", cal.at(1, 10))
    theirs = cal.event("Theirs", cal.at(1, 11), cal=fam)
    assert cal.novel_ids() == [mine["id"], theirs["id"]]
    assert cal.novel_ids(include_calendars=("family",)) == [theirs["id"]]
    assert cal.novel_ids(include_calendars=("C_123@GROUP.calendar.google.com",)) == [theirs["id"]]
    assert cal.novel_ids(exclude_calendars=("FAMILY",)) == [mine["id"]]
    assert cal.novel_ids(include_calendars=("Family", "me@example.com"), exclude_calendars=("me",)) == [theirs["id"]]


def test_excluded_calendars_still_count_as_history(make_cal: Any) -> None:
    cal = make_cal()
    fam = cal.calendar("c_123@group.calendar.google.com", "Family")
    cal.habit("Swimming", weeks=10, cal=fam)
    ev = cal.event("Swimming", cal.at(1, 18))
    assert ev["id"] not in cal.novel_ids(exclude_calendars=("Family",))


def test_include_all_day(make_cal: Any) -> None:
    cal = make_cal()
    day = cal.all_day("Trip", cal.at(3).date(), days=2)
    timed = cal.event("Talk", cal.at(3, 10))
    assert cal.novel_ids() == [day["id"], timed["id"]]
    assert cal.novel_ids(include_all_day=False) == [timed["id"]]


def test_sensitivity(make_cal: Any) -> None:
    cal = make_cal()
    never = cal.event("Never seen", cal.at(1, 10))
    for i in range(2):
        cal.event("Twice seen", cal.at(-60 * (i + 1), 11))
    twice = cal.event("Twice seen", cal.at(1, 11))
    for i in range(4):
        cal.event("Four times", cal.at(-60 * (i + 1), 12))
    four = cal.event("Four times", cal.at(1, 12))
    assert cal.novel_ids(sensitivity="low") == [never["id"]]
    assert cal.novel_ids(sensitivity="normal") == [never["id"], twice["id"]]
    assert cal.novel_ids(sensitivity="high") == [never["id"], twice["id"], four["id"]]


def test_result_shape(make_cal: Any) -> None:
    cal = make_cal()
    ev = cal.event("Never seen", cal.at(1, 10), people=["dana@acme.com"])
    (found,) = cal.run()
    assert found.calendar_id == "me@example.com"
    assert found.event is ev
    assert found.to_json() == {
        "calendarId": "me@example.com",
        "id": ev["id"],
        "score": found.score,
        "reasons": ["first time in your calendar", "first meeting with dana@acme.com"],
    }


@pytest.mark.parametrize(
    ("prefs", "field"),
    [
        ({"lookahead_days": 0}, "lookahead_days"),
        ({"lookahead_days": 61}, "lookahead_days"),
        ({"lookahead_days": 7.5}, "lookahead_days"),
        ({"lookahead_days": True}, "lookahead_days"),
        ({"sensitivity": "extreme"}, "sensitivity"),
        ({"include_calendars": ["Work"]}, "include_calendars"),
        ({"exclude_calendars": ("",)}, "exclude_calendars"),
        ({"include_all_day": "yes"}, "include_all_day"),
        ({"include_declined": 1}, "include_declined"),
    ],
)
def test_bad_prefs_raise_invalid_input(prefs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        NoveltyPrefs(**prefs)
    assert err.value.field == field


def test_bad_now_and_zone(make_cal: Any) -> None:
    cal = make_cal()
    dump = cal.dump()
    with pytest.raises(InvalidInput) as err:
        analyze(dump, now=dt.datetime(2025, 6, 18, 6, 0))
    assert err.value.field == "now"
    with pytest.raises(InvalidInput) as err:
        analyze(dump, now=cal.now, user_tz="Mars/Olympus")
    assert err.value.field == "user_tz"


ODD_EVENTS: list[Any] = [
    {},
    {"id": None},
    {"id": "x1"},
    {"id": "x2", "start": "tomorrow"},
    {"id": "x3", "start": {"dateTime": "not a time"}},
    {"id": "x4", "start": {"date": "2025-13-45"}},
    {"id": "x5", "start": {"dateTime": 12345}},
    {"id": "x6", "start": {"dateTime": "2025-06-20T10:00:00+02:00"}, "summary": 42, "attendees": "everyone"},
    {"id": "x7", "start": {"dateTime": "2025-06-20T10:00:00+02:00"}, "attendees": [None, 3, {"self": True}]},
    {"id": "x8", "start": {"dateTime": "2025-06-20T10:00:00+02:00", "timeZone": "Nowhere/Land"}},
    {"id": "x9", "start": {"dateTime": "2025-06-20T10:00:00+02:00"}, "end": {"date": "2025-06-19"}},
    {"id": "x10", "start": {"date": "2025-06-20"}, "end": {"dateTime": "garbage"}},
    {"id": "x11", "start": {"dateTime": "2025-06-20T10:00:00+02:00"}, "recurringEventId": ["a"]},
    {"id": "x12", "start": {"dateTime": "2025-06-20T10:00:00+02:00"}, "organizer": "me", "status": None},
    {"id": "x13", "start": {"dateTime": "9999-12-31T23:59:59-12:00"}},
    {"id": "x14", "start": {"dateTime": "2025-06-20T10:00:00"}, "eventType": None},
    "not even a dict",
    None,
]


def test_odd_events_never_crash(make_cal: Any) -> None:
    cal = make_cal()
    good = cal.event("Good one", cal.at(3, 10))
    cal.calendars["me@example.com"].items.extend(ODD_EVENTS)
    found = cal.novel_ids()
    assert good["id"] in found
    assert "x6" in found  # a non-string title is just an untitled event


def test_naive_datetime_is_wall_time_in_its_zone(make_cal: Any) -> None:
    cal = make_cal()
    ev = cal.event("Naive", cal.at(3, 10))
    ev["start"] = {"dateTime": "2025-06-21T10:00:00", "timeZone": "Europe/Berlin"}
    (found,) = cal.run()
    assert found.start == dt.datetime(2025, 6, 21, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def test_odd_calendars_never_crash() -> None:
    dump = CalendarDump(
        time_zone="UTC",
        calendars=[
            CalendarData(id="x", items="nope"),  # type: ignore[arg-type]
            CalendarData(id="y", time_zone="Bad/Zone"),
            CalendarData(id="z", summary=None, time_zone=7, items=[{"id": "a", "start": {"date": "2025-01-02"}}]),  # type: ignore[arg-type]
        ],
    )
    assert [n.event_id for n in analyze(dump, now=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))] == ["a"]


def test_duplicate_ids_are_reported_once(make_cal: Any) -> None:
    cal = make_cal()
    ev = cal.event("Twice listed", cal.at(2, 10))
    cal.calendars["me@example.com"].items.append(dict(ev))
    assert cal.novel_ids() == [ev["id"]]


def test_from_json_dump(make_cal: Any) -> None:
    """The dump format of docs/DESIGN.md, through CalendarDump.from_json."""
    data = {
        "timeZone": "Australia/Sydney",
        "calendars": [
            {
                "id": "me@example.com",
                "summary": "Me",
                "timeZone": "Australia/Sydney",
                "items": [
                    {
                        "id": "a",
                        "summary": "Harbour cruise",
                        "start": {"dateTime": "2025-12-24T18:00:00+11:00", "timeZone": "Australia/Sydney"},
                        "end": {"dateTime": "2025-12-24T21:00:00+11:00", "timeZone": "Australia/Sydney"},
                    }
                ],
            }
        ],
    }
    now = dt.datetime(2025, 12, 20, 7, 0, tzinfo=ZoneInfo("Australia/Sydney"))
    (found,) = analyze(CalendarDump.from_json(data), now=now)
    assert found.event_id == "a"
