"""Feed bytes -> the VEVENTs of every VCALENDAR, each parsed on its own when its calendar does not parse.

What could not be read becomes a :class:`Problem` naming the event (summary and UID) and what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import icalendar

from novel_events.errors import PermanentError
from novel_events.sources.ics_split import RawCalendar, RawComponent, split_feed

_TZID = re.compile(r";TZID=(\"[^\"]*\"|[^;:]*)", re.IGNORECASE)
_HEADER = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//novel-events//ics//EN\r\n"


@dataclass(frozen=True, slots=True)
class Problem:
    """Something in a feed that was not read as written. ``skipped``: an event (or part of one) is lost."""

    message: str
    uid: str | None = None
    summary: str | None = None
    skipped: bool = True

    def __str__(self) -> str:
        if self.uid is None and self.summary is None:
            return self.message
        return f"{describe(self.summary, self.uid)} {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "summary": self.summary, "message": str(self), "skipped": self.skipped}


def describe(summary: str | None, uid: str | None) -> str:
    title = " ".join((summary or "").split())
    title = title if len(title) <= 60 else title[:57] + "..."
    return f"event {title!r} (UID {uid or 'none'})" if title else f"event with UID {uid or 'none'}"


@dataclass(slots=True)
class LoadedCalendar:
    name: str | None
    wr_timezone: str | None  # X-WR-TIMEZONE as written
    events: list[Any] = field(default_factory=list)  # icalendar Event components


def load(data: bytes, problems: list[Problem], check: Callable[[], None] = lambda: None) -> list[LoadedCalendar]:
    """Every VCALENDAR of the feed with its readable VEVENTs. Not iCal at all: :class:`PermanentError`.

    ``check`` is called between components (the feed's time budget).
    """
    text = data.decode("utf-8", errors="replace")
    raw_calendars = split_feed(text)
    if not raw_calendars:
        raise PermanentError("not a valid iCal feed: no BEGIN:VCALENDAR found")
    loaded = [_load_calendar(raw, problems, check) for raw in raw_calendars]
    complete = sum(len(c.events) for c in loaded)
    if any(not raw.closed for raw in raw_calendars):
        if complete == 0:
            raise PermanentError("not a valid iCal feed: it ends before END:VCALENDAR (truncated?)")
        problems.append(Problem("the feed ends before END:VCALENDAR (truncated?); events after the cut are lost"))
    return loaded


BATCH = 200  # VEVENTs per library call: the time budget is checked between batches


def _load_calendar(raw: RawCalendar, problems: list[Problem], check: Callable[[], None]) -> LoadedCalendar:
    check()
    cal = LoadedCalendar(name=raw.header.get("X-WR-CALNAME"), wr_timezone=raw.header.get("X-WR-TIMEZONE"))
    events = []
    for comp in raw.events:
        if comp.closed:
            events.append(comp)
        else:
            problems.append(Problem("is cut off before END:VEVENT; skipped", comp.value("UID"), comp.value("SUMMARY")))
    zones = _zones(raw, problems, check)
    for i in range(0, len(events), BATCH):
        check()
        batch = events[i : i + BATCH]
        try:
            cal.events.extend(_parse(batch, zones))
            continue
        except Exception:  # the library raises many types; read this batch's events one by one
            pass
        for comp in batch:
            try:
                cal.events.extend(_parse([comp], zones))
            except Exception as exc:
                problems.append(
                    Problem(f"cannot be read ({_reason(exc)}); skipped", comp.value("UID"), comp.value("SUMMARY"))
                )
    return cal


def _zones(raw: RawCalendar, problems: list[Problem], check: Callable[[], None]) -> dict[str, str]:
    """TZID -> VTIMEZONE text, for the definitions the library can read."""

    def tzid(tz: RawComponent) -> str:
        return (tz.value("TZID") or "").strip('"')

    try:
        icalendar.Calendar.from_ical(_HEADER + "".join(tz.text() for tz in raw.timezones) + "END:VCALENDAR\r\n")
        return {tzid(tz): tz.text() for tz in raw.timezones}
    except Exception:
        pass
    zones: dict[str, str] = {}
    for tz in raw.timezones:
        check()
        try:
            icalendar.Calendar.from_ical(_HEADER + tz.text() + "END:VCALENDAR\r\n")
            zones[tzid(tz)] = tz.text()
        except Exception as exc:
            problems.append(
                Problem(
                    f"time zone definition {tzid(tz)!r} is invalid ({_reason(exc)}); times in it are read "
                    "as the IANA zone of that name when there is one",
                    skipped=False,
                )
            )
    return zones


def _parse(events: list[RawComponent], zones: dict[str, str]) -> list[Any]:
    text = "".join(c.text() for c in events)
    used = "".join(zones.get(m.strip('"'), "") for m in sorted(set(_TZID.findall(text))))
    parsed = list(icalendar.Calendar.from_ical(_HEADER + used + text + "END:VCALENDAR\r\n").walk("VEVENT"))
    if len(parsed) == len(events):  # keep the RRULEs as written: the library may read an odd one as empty
        for comp, raw in zip(parsed, events, strict=True):
            setattr(comp, "raw_rrules", raw.values("RRULE"))  # noqa: B010 - not declared by the library
            setattr(comp, "raw_values", {"DTSTART": raw.value("DTSTART")})  # noqa: B010
    return parsed


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


__all__ = ["LoadedCalendar", "Problem", "RawComponent", "describe", "load"]
