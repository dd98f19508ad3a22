"""An iCal feed's bytes -> the calendar dump a digest analyzes, plus what could not be read.

Pure: no I/O. Every readable event is read; one bad component, property or calendar costs that
component only (a :class:`Problem` says which and why). Only the feed as a whole being unreadable,
or too costly (:class:`Budget`), is an error, and then a :class:`PermanentError`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from novel_events.errors import InvalidInput, PermanentError
from novel_events.events import CalendarData, CalendarDump, Event, zone
from novel_events.sources.ics_expand import (
    Budget,
    Instance,
    Note,
    Series,
    SeriesProblem,
    Window,
    expand,
    readable,
    stamp,
)
from novel_events.sources.ics_parse import LoadedCalendar, Problem, load

_STATUS = {"CONFIRMED": "confirmed", "TENTATIVE": "tentative", "CANCELLED": "cancelled"}
_PARTSTAT = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative", "NEEDS-ACTION": "needsAction"}
_WINDOWS_ZONES = {  # X-WR-TIMEZONE as Outlook writes it (the common ones)
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "GMT Standard Time": "Europe/London",
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver",
    "Pacific Standard Time": "America/Los_Angeles",
    "UTC": "UTC",
    "Coordinated Universal Time": "UTC",
}


@dataclass(slots=True)
class IcsResult:
    dump: CalendarDump
    problems: list[Problem] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        """How many problems lost an event or part of one (for the run's outcome)."""
        return sum(1 for p in self.problems if p.skipped)


def read_calendar(
    data: bytes,
    *,
    start: dt.datetime,
    end: dt.datetime,
    user_tz: str,
    calendar_id: str = "ics",
    budget: Budget | None = None,
) -> IcsResult:
    """Expand the feed's events that overlap [start, end) into instances, with what was skipped."""
    budget = budget or Budget()
    problems: list[Problem] = []
    calendars = load(data, problems, budget.check_time)
    cal_tz, zone_note = _calendar_zone(calendars, user_tz)
    if zone_note:
        problems.append(zone_note)
    items: dict[str, Event] = {}
    for series, cal in _series(calendars, problems):
        budget.check_time()
        tz_name = _zone_name(cal.wr_timezone) or cal_tz
        window = Window(start, end, zone(tz_name), zone(tz_name) if _zone_name(cal.wr_timezone) else None)
        notes: list[Note] = []
        try:
            instances = expand(series, window, budget, notes)
        except SeriesProblem as exc:
            problems.append(Problem(f"{exc}; skipped", series.uid, _title(series)))
            continue
        except PermanentError:
            raise
        except Exception as exc:  # a library error in one series costs that series
            problems.append(
                Problem(
                    f"cannot be expanded ({type(exc).__name__}: {str(exc)[:120]}); skipped", series.uid, _title(series)
                )
            )
            continue
        problems.extend(Problem(n, series.uid, _title(series), skipped=lost) for n, lost in notes)
        for inst in instances:
            event = _event(inst, series, tz_name)
            items.setdefault(event["id"], event)
    ordered = sorted(items.values(), key=lambda e: (_sort_key(e), e["id"]))
    name = next((c.name for c in calendars if c.name), None) or calendar_id
    dump = CalendarDump(
        time_zone=user_tz,
        calendars=[CalendarData(id=calendar_id, summary=name, time_zone=cal_tz, primary=True, items=ordered)],
    )
    return IcsResult(dump, problems)


def _zone_name(value: str | None) -> str | None:
    """An X-WR-TIMEZONE as an IANA name, or None when it names no zone we know."""
    if not value:
        return None
    text = value.strip().strip('"').strip()
    for candidate in (text, _WINDOWS_ZONES.get(text, ""), text.replace(" ", "_")):
        try:
            zone(candidate)
            return candidate
        except InvalidInput:
            continue
    from zoneinfo import available_timezones  # a case-insensitive match ("europe/berlin")

    lowered = {z.lower(): z for z in available_timezones()}
    return lowered.get(text.lower())


def _calendar_zone(calendars: list[LoadedCalendar], user_tz: str) -> tuple[str, Problem | None]:
    for cal in calendars:
        if not (cal.wr_timezone or "").strip():  # absent or empty: no calendar zone
            continue
        name = _zone_name(cal.wr_timezone)
        if name:
            return name, None
        return user_tz, Problem(
            f"X-WR-TIMEZONE {cal.wr_timezone!r} is not a known time zone; times without a zone are read in {user_tz}",
            skipped=False,
        )
    return user_tz, None


def _series(calendars: list[LoadedCalendar], problems: list[Problem]) -> list[tuple[Series, LoadedCalendar]]:
    """Events grouped by UID (across the feed's calendars): a master and its RECURRENCE-ID overrides."""
    masters: dict[str, list[tuple[Any, LoadedCalendar]]] = {}
    overrides: dict[str, list[Any]] = {}
    for cal in calendars:
        for comp in cal.events:
            uid = _uid(comp)
            if comp.get("DTSTART") is None:
                problems.append(Problem("has no start; skipped", uid, _summary(comp)))
            elif comp.get("RECURRENCE-ID") is not None and not readable(comp.get("RECURRENCE-ID")):
                problems.append(
                    Problem(
                        f"changes an instance it names with an unreadable RECURRENCE-ID "
                        f"{str(comp.get('RECURRENCE-ID'))[:40]!r}; skipped",
                        uid,
                        _summary(comp),
                    )
                )
            elif comp.get("RECURRENCE-ID") is not None:
                overrides.setdefault(uid, []).append((comp, cal))
            else:
                masters.setdefault(uid, []).append((comp, cal))
    out: list[tuple[Series, LoadedCalendar]] = []
    for uid, found in masters.items():
        # the same UID twice is one event sent twice (an update): the latest version wins, as on import
        comp, cal = max(found, key=lambda pair: _version(pair[0]))
        changes: dict[str, Any] = {}
        for change, _ in sorted(overrides.pop(uid, []), key=lambda pair: _version(pair[0])):
            changes[str(change.get("RECURRENCE-ID").to_ical())] = change
        out.append((Series(uid, comp, list(changes.values())), cal))
    for uid, orphans in overrides.items():  # overrides without a master
        with_rule = [(c, cal) for c, cal in orphans if c.get("RRULE") is not None]
        if with_rule:  # an override carrying the series' RRULE: the series starts there
            head, cal = min(with_rule, key=lambda pair: _start_stamp(pair[0]))
            rest = [c for c, _ in orphans if c is not head]
            out.append((Series(uid, _as_master(head), rest), cal))
        else:
            out.append((Series(uid, None, [c for c, _ in orphans]), orphans[0][1]))
    return out


def _version(comp: Any) -> tuple[int, str]:
    """(SEQUENCE, LAST-MODIFIED or DTSTAMP as written): which of two copies of an event is newer."""
    try:
        sequence = int(str(comp.get("SEQUENCE", 0)).strip() or 0)
    except ValueError:
        sequence = 0
    stamp_prop = comp.get("LAST-MODIFIED") or comp.get("DTSTAMP")
    try:
        when = stamp_prop.to_ical().decode() if stamp_prop is not None else ""
    except Exception:
        when = ""
    return sequence, when


def _as_master(comp: Any) -> Any:
    master = comp.copy()
    master.pop("RECURRENCE-ID", None)
    for attr in ("raw_rrules", "raw_values"):  # what the feed wrote (see ics_parse)
        if hasattr(comp, attr):
            setattr(master, attr, getattr(comp, attr))
    return master


def _start_stamp(comp: Any) -> str:
    try:
        value = comp.get("DTSTART").dt
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            return value.strftime("%Y%m%dT%H%M%S")
        return stamp(value)
    except Exception:
        return "x"


def _uid(comp: Any) -> str:
    uid = " ".join(str(comp.get("UID") or "").split())
    if uid:
        return uid
    seed = f"{comp.get('SUMMARY', '')}|{getattr(comp.get('DTSTART'), 'to_ical', lambda: b'')()!r}"
    return "ics-" + hashlib.sha1(seed.encode()).hexdigest()[:20]


def _title(series: Series) -> str | None:
    return _summary(series.master if series.master is not None else series.overrides[0])


def _summary(comp: Any) -> str | None:
    value = comp.get("SUMMARY")
    return str(value) if value is not None else None


def _sort_key(event: Event) -> str:
    start = event["start"]
    if "dateTime" in start:
        return dt.datetime.fromisoformat(start["dateTime"]).astimezone(dt.UTC).isoformat()
    return start.get("date", "")


def _when(value: Any, cal_tz: str) -> dict[str, str]:
    if isinstance(value, dt.datetime):
        key = getattr(value.tzinfo, "key", None) or ""
        return {"dateTime": value.isoformat(), **({"timeZone": key} if "/" in key or key == "UTC" else {})}
    return {"date": value.isoformat()}


def _email(value: Any) -> str:
    text = str(value or "")
    return text[7:] if text.lower().startswith("mailto:") else text


def _prop(comp: Any, name: str, default: Any = None) -> Any:
    """``comp.get(name)`` for an upper-case ``name``: icalendar stores property names upper-cased, and its own
    ``get`` case-folds the name and raises and catches a KeyError for an absent one, on every call (~10 calls
    per event instance, the bulk of reading a 250-event feed's instances)."""
    return dict.get(comp, name, default)


def _event(inst: Instance, series: Series, cal_tz: str) -> Event:
    comp = inst.comp
    prop = _prop
    recurring = series.recurring
    event: Event = {
        "kind": "calendar#event",
        "id": f"{series.uid}_{stamp(inst.original)}" if recurring and inst.original is not None else series.uid,
        "status": _STATUS.get(str(prop(comp, "STATUS", "CONFIRMED")).strip().upper(), "confirmed"),
        "summary": str(prop(comp, "SUMMARY") or ""),
        "start": _when(inst.start, cal_tz),
        "end": _when(inst.end, cal_tz),
        "eventType": "default",
    }
    if recurring:
        event["recurringEventId"] = series.uid
        if inst.original is not None:
            event["originalStartTime"] = _when(inst.original, cal_tz)
    for src, dst in (("DESCRIPTION", "description"), ("LOCATION", "location"), ("URL", "htmlLink")):
        if value := prop(comp, src):
            event[dst] = str(value)
    if organizer := prop(comp, "ORGANIZER"):
        event["organizer"] = {"email": _email(organizer)}
    attendees = prop(comp, "ATTENDEE")
    if attendees:
        if not isinstance(attendees, list):
            attendees = [attendees]
        event["attendees"] = [
            {
                "email": _email(a),
                "responseStatus": _PARTSTAT.get(
                    str(getattr(a, "params", {}).get("PARTSTAT", "")).upper(), "needsAction"
                ),
            }
            for a in attendees
        ]
    if str(prop(comp, "TRANSP", "")).upper() == "TRANSPARENT":
        event["transparency"] = "transparent"
    return event
