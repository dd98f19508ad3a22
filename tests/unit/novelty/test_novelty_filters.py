"""What is never novel, whatever its history (table-driven)."""

from __future__ import annotations

from typing import Any

import pytest


def _one_off(cal: Any, **kw: Any) -> dict[str, Any]:
    return cal.event("Meet the architects", cal.at(2, 15), **kw)


def _holiday(cal: Any) -> dict[str, Any]:
    cid = cal.calendar("en.german#holiday@group.v.calendar.google.com", "Holidays in Germany")
    return cal.all_day("Corpus Christi", cal.at(2).date(), cal=cid)


def _contacts(cal: Any) -> dict[str, Any]:
    cid = cal.calendar("addressbook#contacts@group.v.calendar.google.com", "Birthdays")
    return cal.all_day("Ana's birthday", cal.at(3).date(), cal=cid)


def _cancelled(cal: Any) -> dict[str, Any]:
    ev = _one_off(cal)
    ev["status"] = "cancelled"
    return ev


def _cancelled_bare(cal: Any) -> dict[str, Any]:
    """What events.list returns for a cancelled series instance: no title, no start."""
    ev = {"id": "abc_20250620", "status": "cancelled", "recurringEventId": "abc"}
    cal.calendars["me@example.com"].items.append(ev)
    return ev


def _typed(event_type: str) -> Any:
    def build(cal: Any) -> dict[str, Any]:
        return _one_off(cal, eventType=event_type)

    return build


def _declined(cal: Any) -> dict[str, Any]:
    return _one_off(cal, people=["boss@example.com"], response="declined")


def _declined_by_address(cal: Any) -> dict[str, Any]:
    """No ``self`` flag: the attendee whose address is the primary calendar's id is the user."""
    return _one_off(
        cal,
        attendees=[
            {"email": "boss@example.com", "responseStatus": "accepted"},
            {"email": "Me@Example.com", "responseStatus": "declined"},
        ],
    )


NEVER_NOVEL = [
    ("holiday calendar", _holiday),
    ("contacts birthdays calendar", _contacts),
    ("cancelled", _cancelled),
    ("cancelled series instance", _cancelled_bare),
    ("out of office", _typed("outOfOffice")),
    ("focus time", _typed("focusTime")),
    ("working location", _typed("workingLocation")),
    ("birthday event", _typed("birthday")),
    ("declined", _declined),
    ("declined (by address)", _declined_by_address),
]


@pytest.mark.parametrize(("name", "build"), NEVER_NOVEL, ids=[n for n, _ in NEVER_NOVEL])
def test_never_novel(make_cal: Any, name: str, build: Any) -> None:
    cal = make_cal()
    ev = build(cal)
    assert ev["id"] not in cal.novel_ids(), name


def test_the_same_event_undeclined_is_novel(make_cal: Any) -> None:
    cal = make_cal()
    ev = _one_off(cal, people=["boss@example.com"])
    assert cal.novel_ids() == [ev["id"]]


def test_include_declined_brings_declined_back(make_cal: Any) -> None:
    cal = make_cal()
    ev = _declined(cal)
    assert cal.novel_ids(include_declined=True) == [ev["id"]]


def test_tentative_and_unanswered_are_not_filtered(make_cal: Any) -> None:
    cal = make_cal()
    a = _one_off(cal, people=["x@example.com"], response="tentative")
    b = cal.event("Kickoff with legal", cal.at(3, 10), people=["y@example.com"], response="needsAction")
    assert cal.novel_ids() == [a["id"], b["id"]]


def test_holiday_calendar_is_not_history(make_cal: Any) -> None:
    """A public holiday named like a user's event does not make that event routine."""
    cal = make_cal()
    cid = cal.calendar("en.usa#holiday@group.v.calendar.google.com", "Holidays")
    for w in range(1, 9):
        cal.event("Parade", cal.at(-7 * w, 10), cal=cid)
    ev = cal.event("Parade", cal.at(2, 10))
    assert cal.novel_ids() == [ev["id"]]
