"""iCal (RFC 5545) feeds as a calendar source.

:func:`parse_ics` is pure: bytes in, a :class:`CalendarDump` out, recurring events expanded into
instances that look like Calendar API ``events.list(singleEvents=true)`` items (instances of a
series carry ``recurringEventId``). :func:`read_ics` does the I/O (a file or an http(s) URL).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import icalendar
import recurring_ical_events

from novel_events.errors import InvalidInput, PermanentError, TransientError
from novel_events.events import CalendarData, CalendarDump, Event, zone

MAX_BYTES = 20 * 1024 * 1024
# A feed is untrusted: cap what one expansion may produce, and drop series no human routine has
# (a FREQ=SECONDLY series takes minutes to expand; the library walks every instance from DTSTART).
MAX_INSTANCES = 20_000
_PER_YEAR = {"SECONDLY": 31_536_000, "MINUTELY": 525_600, "HOURLY": 8_760, "DAILY": 365, "WEEKLY": 53,
             "MONTHLY": 12, "YEARLY": 1}
_FINER = {  # BY-parts that multiply a coarser frequency, with an upper bound per listed value
    "BYSECOND": ("SECONDLY",), "BYMINUTE": ("SECONDLY", "MINUTELY"),
    "BYHOUR": ("SECONDLY", "MINUTELY", "HOURLY"),
}
_STATUS = {"CONFIRMED": "confirmed", "TENTATIVE": "tentative", "CANCELLED": "cancelled"}
_PARTSTAT = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative",
             "NEEDS-ACTION": "needsAction"}


def read_ics(location: str, *, timeout: float = 20.0) -> bytes:
    """The bytes of an iCal feed at a path or http(s) URL.

    Network trouble and 5xx/429 are :class:`TransientError`; a missing file or a 4xx is permanent.
    """
    scheme = urlparse(location).scheme.lower()
    if scheme in {"http", "https", "webcal"}:
        url = "https" + location[len("webcal"):] if scheme == "webcal" else location
        try:
            resp = httpx.get(url, timeout=timeout, follow_redirects=True)
        except httpx.TransportError as exc:
            raise TransientError(f"iCal feed unreachable: {type(exc).__name__}") from None
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TransientError(f"iCal feed answered HTTP {resp.status_code}",
                                 retry_after=_retry_after(resp.headers.get("retry-after")))
        if resp.status_code >= 400:
            raise PermanentError(f"iCal feed answered HTTP {resp.status_code}")
        if len(resp.content) > MAX_BYTES:
            raise PermanentError(f"iCal feed is larger than {MAX_BYTES // 1024 // 1024} MiB")
        return resp.content
    path = Path(location[len("file://"):] if location.startswith("file://") else location).expanduser()
    try:
        if path.stat().st_size > MAX_BYTES:
            raise PermanentError(f"iCal file is larger than {MAX_BYTES // 1024 // 1024} MiB")
        return path.read_bytes()
    except OSError as exc:
        raise PermanentError(f"cannot read iCal file {path}: {exc.strerror or exc}") from None


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def parse_ics(
    data: bytes,
    *,
    start: dt.datetime,
    end: dt.datetime,
    user_tz: str,
    calendar_id: str = "ics",
) -> CalendarDump:
    """Expand the feed's events that overlap [start, end) into instances."""
    try:
        cal = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise PermanentError(f"not a valid iCal feed: {str(exc)[:120]}") from None
    name = str(cal.get("X-WR-CALNAME") or calendar_id)
    cal_tz = str(cal.get("X-WR-TIMEZONE") or user_tz)
    try:
        tz = zone(cal_tz)
    except InvalidInput:
        cal_tz, tz = user_tz, zone(user_tz)
    _drop_too_frequent(cal)
    series_uids = {str(c.get("UID")) for c in cal.walk("VEVENT") if c.get("RRULE") or c.get("RECURRENCE-ID")}
    try:
        # `between` is eager but fast; the lazy `after` is ~100x slower on dense series (measured)
        occurrences = recurring_ical_events.of(cal, skip_bad_series=True).between(start, end)
    except Exception as exc:  # the library raises several types on malformed feeds
        raise PermanentError(f"cannot expand iCal events: {type(exc).__name__}") from None
    if len(occurrences) > MAX_INSTANCES:
        raise PermanentError(
            f"iCal feed has more than {MAX_INSTANCES:,} events in the window; is it a real calendar?")
    items: list[Event] = []
    for comp in occurrences:
        item = _event(comp, tz, cal_tz, series_uids)
        if item is not None:
            items.append(item)
    items.sort(key=lambda e: (e["start"].get("dateTime") or e["start"].get("date") or "", e["id"]))
    return CalendarDump(
        time_zone=user_tz,
        calendars=[CalendarData(id=calendar_id, summary=name, time_zone=cal_tz, primary=True, items=items)],
    )


def yearly_density(rule: Any) -> float:
    """An upper bound of a rule's instances per year (RFC 5545 FREQ, INTERVAL and BY-parts)."""
    freq = str((rule.get("FREQ") or ["YEARLY"])[0]).upper()
    density = float(_PER_YEAR.get(freq, 1))
    for part, finer_or_equal in _FINER.items():
        if freq not in finer_or_equal and rule.get(part):
            density *= len(rule.get(part))
    if freq in {"WEEKLY", "MONTHLY", "YEARLY"} and rule.get("BYDAY"):
        density *= len(rule.get("BYDAY")) * (1 if freq == "WEEKLY" else 5)
    if freq in {"MONTHLY", "YEARLY"} and rule.get("BYMONTHDAY"):
        density *= len(rule.get("BYMONTHDAY"))
    interval = rule.get("INTERVAL") or [1]
    with contextlib.suppress(TypeError, ValueError):
        density /= max(1, int(interval[0]))
    return density


def _drop_too_frequent(cal: Any) -> None:
    for comp in list(cal.subcomponents):
        rule = comp.get("RRULE") if getattr(comp, "name", "") == "VEVENT" else None
        if rule is not None and yearly_density(rule) > MAX_INSTANCES:
            cal.subcomponents.remove(comp)


def _when(value: Any, tz: Any, cal_tz: str) -> dict[str, str] | None:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # floating time: the calendar's zone
            return {"dateTime": value.replace(tzinfo=tz).isoformat(), "timeZone": cal_tz}
        key = getattr(value.tzinfo, "key", None) or str(value.tzinfo)
        return {"dateTime": value.isoformat(), **({"timeZone": key} if "/" in key or key == "UTC" else {})}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    return None


def _email(value: Any) -> str:
    text = str(value or "")
    return text[7:] if text.lower().startswith("mailto:") else text


def _event(comp: Any, tz: Any, cal_tz: str, series_uids: set[str]) -> Event | None:
    dtstart = comp.get("DTSTART")
    if dtstart is None:
        return None
    start = _when(dtstart.dt, tz, cal_tz)
    dtend = comp.get("DTEND")
    end = _when(dtend.dt, tz, cal_tz) if dtend is not None else None
    if start is None:
        return None
    if end is None:
        end = start
    uid = str(comp.get("UID") or "")
    if not uid:
        uid = hashlib.sha1(str(comp.get("SUMMARY", "")).encode() + str(start).encode()).hexdigest()[:20]
    stamp = (start.get("dateTime") or start.get("date") or "").replace("-", "").replace(":", "")[:15]
    is_series = uid in series_uids
    event: Event = {
        "kind": "calendar#event",
        "id": f"{uid}_{stamp}" if is_series else uid,
        "status": _STATUS.get(str(comp.get("STATUS", "CONFIRMED")).upper(), "confirmed"),
        "summary": str(comp.get("SUMMARY") or ""),
        "start": start,
        "end": end,
        "eventType": "default",
    }
    if is_series:
        event["recurringEventId"] = uid
    for src, dst in (("DESCRIPTION", "description"), ("LOCATION", "location"), ("URL", "htmlLink")):
        if comp.get(src):
            event[dst] = str(comp.get(src))
    if comp.get("ORGANIZER"):
        event["organizer"] = {"email": _email(comp.get("ORGANIZER"))}
    attendees = comp.get("ATTENDEE")
    if attendees:
        if not isinstance(attendees, list):
            attendees = [attendees]
        event["attendees"] = [
            {"email": _email(a),
             "responseStatus": _PARTSTAT.get(str(getattr(a, "params", {}).get("PARTSTAT", "")).upper(),
                                             "needsAction")}
            for a in attendees
        ]
    if str(comp.get("TRANSP", "")).upper() == "TRANSPARENT":
        event["transparency"] = "transparent"
    return event
