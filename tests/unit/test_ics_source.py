"""iCal parsing: recurring events expand into series instances, dates stay dates, bad feeds fail cleanly."""

from __future__ import annotations

import datetime as dt

import pytest

from novel_events.errors import PermanentError
from novel_events.samples import PEOPLE, build_ics
from novel_events.sources.ics import parse_ics

NOW = dt.datetime(2026, 11, 29, 8, tzinfo=dt.UTC)

FEED = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//t//t//EN
X-WR-CALNAME:Home
X-WR-TIMEZONE:Europe/Lisbon
BEGIN:VEVENT
UID:weekly-1
SUMMARY:Choir
DTSTART;TZID=Europe/Lisbon:20260105T190000
DTEND;TZID=Europe/Lisbon:20260105T203000
RRULE:FREQ=WEEKLY;BYDAY=MO
END:VEVENT
BEGIN:VEVENT
UID:trip-1
SUMMARY:Trip to Porto
DTSTART;VALUE=DATE:20261203
DTEND;VALUE=DATE:20261206
LOCATION:Porto
END:VEVENT
BEGIN:VEVENT
UID:floating-1
SUMMARY:Floating lunch
DTSTART:20261201T123000
DTEND:20261201T133000
END:VEVENT
BEGIN:VEVENT
UID:cancelled-1
SUMMARY:Called off
STATUS:CANCELLED
DTSTART:20261202T090000Z
DTEND:20261202T100000Z
ATTENDEE;PARTSTAT=DECLINED:mailto:me@example.org
ORGANIZER:mailto:boss@example.org
END:VEVENT
END:VCALENDAR
"""


def _items() -> dict[str, dict]:  # type: ignore[type-arg]
    dump = parse_ics(
        FEED,
        start=NOW - dt.timedelta(days=365),
        end=NOW + dt.timedelta(days=14),
        user_tz="Europe/Berlin",
        calendar_id="home",
    )
    assert dump.time_zone == "Europe/Berlin"
    assert dump.calendars[0].summary == "Home" and dump.calendars[0].time_zone == "Europe/Lisbon"
    return {e["id"]: e for e in dump.calendars[0].items}


def test_series_instances_carry_recurring_event_id() -> None:
    items = _items()
    choir = [e for e in items.values() if e["summary"] == "Choir"]
    assert len(choir) > 40
    assert {e["recurringEventId"] for e in choir} == {"weekly-1"}
    assert len({e["id"] for e in choir}) == len(choir)


def test_all_day_stays_a_date_and_one_offs_have_no_series() -> None:
    trip = _items()["trip-1"]
    assert trip["start"] == {"date": "2026-12-03"} and trip["end"] == {"date": "2026-12-06"}
    assert "recurringEventId" not in trip and trip["location"] == "Porto"


def test_floating_time_is_read_in_the_calendar_zone() -> None:
    lunch = _items()["floating-1"]
    assert lunch["start"] == {"dateTime": "2026-12-01T12:30:00+00:00", "timeZone": "Europe/Lisbon"}


def test_status_attendees_and_organizer_are_mapped() -> None:
    ev = _items()["cancelled-1"]
    assert ev["status"] == "cancelled"
    assert ev["organizer"] == {"email": "boss@example.org"}
    assert ev["attendees"] == [{"email": "me@example.org", "responseStatus": "declined"}]


@pytest.mark.parametrize("data", [b"", b"not a calendar", b"BEGIN:VCALENDAR\nBEGIN:VEVENT\n"])
def test_garbage_is_a_permanent_error(data: bytes) -> None:
    with pytest.raises(PermanentError):
        parse_ics(data, start=NOW, end=NOW + dt.timedelta(days=1), user_tz="UTC")


def test_samples_have_routine_and_upcoming_one_offs() -> None:
    for person in PEOPLE:
        dump = parse_ics(
            build_ics(person, NOW.date()),
            start=NOW - dt.timedelta(days=365),
            end=NOW + dt.timedelta(days=14),
            user_tz=person.timezone,
        )
        items = dump.calendars[0].items
        one_offs = [e for e in items if "recurringEventId" not in e]
        assert len(one_offs) == len(person.novel)
        assert len(items) - len(one_offs) > 50


def _feed(*series: tuple[str, str]) -> bytes:
    """A feed of recurring series (RRULE, DTSTART) plus one real one-off."""
    events = "".join(
        f"BEGIN:VEVENT\nUID:s{i}\nSUMMARY:tick\nDTSTART:{since}\nDTEND:{since[:-2]}1Z\nRRULE:{rule}\nEND:VEVENT\n"
        for i, (rule, since) in enumerate(series)
    )
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\n" + events + "BEGIN:VEVENT\nUID:real\nSUMMARY:Dentist\n"
        "DTSTART:20261201T100000Z\nDTEND:20261201T110000Z\nEND:VEVENT\nEND:VCALENDAR\n"
    ).encode()


WINDOW = {"start": NOW - dt.timedelta(days=365), "end": NOW + dt.timedelta(days=14), "user_tz": "UTC"}


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=SECONDLY",
        "FREQ=MINUTELY;INTERVAL=5",
        "FREQ=HOURLY;BYMINUTE=0,10,20,30,40,50",
        "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,30,45",
    ],
)
def test_absurdly_frequent_series_are_dropped_not_expanded(rule: str) -> None:
    dump = parse_ics(_feed((rule, "20150101T000000Z")), **WINDOW)  # type: ignore[arg-type]
    assert [e["summary"] for e in dump.calendars[0].items] == ["Dentist"]


def test_human_frequencies_are_kept() -> None:
    dump = parse_ics(
        _feed(("FREQ=HOURLY", "20260101T000000Z"), ("FREQ=WEEKLY;BYDAY=MO,WE,FR", "20200101T090000Z")), **WINDOW
    )  # type: ignore[arg-type]
    assert sum(e["summary"] == "tick" for e in dump.calendars[0].items) > 5000


def test_too_many_instances_is_a_permanent_error_not_a_hang() -> None:
    hourly_each = [("FREQ=DAILY;BYHOUR=" + ",".join(str(h) for h in range(24)), "20260101T000000Z")] * 4
    with pytest.raises(PermanentError, match="more than 20,000 events"):
        parse_ics(_feed(*hourly_each), **WINDOW)  # type: ignore[arg-type]


def test_expansion_matches_the_library_between() -> None:
    import icalendar
    import recurring_ical_events

    for person in PEOPLE:
        data = build_ics(person, NOW.date())
        start, end = NOW - dt.timedelta(days=365), NOW + dt.timedelta(days=14)
        ours = parse_ics(data, start=start, end=end, user_tz=person.timezone).calendars[0].items
        theirs = recurring_ical_events.of(icalendar.Calendar.from_ical(data)).between(start, end)
        assert len(ours) == len(theirs)
