"""Calendar data: RFC 3339 parsing, etags, and builders of dump items (docs/DESIGN.md format)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from zoneinfo import ZoneInfo


def parse_rfc3339(value: str) -> dt.datetime:
    """An RFC 3339 timestamp with a mandatory offset, as Google requires for timeMin/timeMax."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("missing time zone offset")
    return parsed


def _rfc3339_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _bound(value: Any, tz: ZoneInfo) -> dt.datetime | None:
    if not isinstance(value, dict):
        return None
    try:
        if value.get("dateTime"):
            return parse_rfc3339(str(value["dateTime"]))
        if value.get("date"):
            d = dt.date.fromisoformat(str(value["date"]))
            return dt.datetime(d.year, d.month, d.day, tzinfo=tz)
    except ValueError:
        return None
    return None


def _etag(seed: object) -> str:
    return '"' + str(int(hashlib.sha1(repr(seed).encode()).hexdigest()[:12], 16)) + '"'


def timed_event(event_id: str, start: dt.datetime, minutes: int = 60, **fields: Any) -> dict[str, Any]:
    """A timed event shaped like an ``events.list(singleEvents=true)`` item."""
    end = start + dt.timedelta(minutes=minutes)
    tz = fields.pop("time_zone", "Europe/Berlin")
    return {
        "kind": "calendar#event",
        "etag": _etag(event_id),
        "id": event_id,
        "status": "confirmed",
        "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
        "summary": fields.pop("summary", f"Event {event_id}"),
        "start": {"dateTime": start.isoformat(), "timeZone": tz},
        "end": {"dateTime": end.isoformat(), "timeZone": tz},
        "iCalUID": f"{event_id}@google.com",
        "sequence": 0,
        "reminders": {"useDefault": True},
        "eventType": "default",
        **fields,
    }


def all_day_event(event_id: str, day: dt.date, days: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "calendar#event",
        "etag": _etag(event_id),
        "id": event_id,
        "status": "confirmed",
        "summary": fields.pop("summary", f"All day {event_id}"),
        "start": {"date": day.isoformat()},
        "end": {"date": (day + dt.timedelta(days=days)).isoformat()},
        "eventType": "default",
        **fields,
    }


def weekly_series(series_id: str, first: dt.datetime, count: int, **fields: Any) -> list[dict[str, Any]]:
    """``count`` weekly instances ``<series_id>_<n>`` sharing ``recurringEventId``."""
    return [
        timed_event(f"{series_id}_{n}", first + dt.timedelta(weeks=n), recurringEventId=series_id, **fields)
        for n in range(count)
    ]


def calendar_entry(cal_id: str, summary: str, items: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    """One calendar of a dump; ``meta`` may hold primary, timeZone, summaryOverride, hidden..."""
    return {
        "id": cal_id,
        "summary": summary,
        "timeZone": meta.pop("timeZone", "Europe/Berlin"),
        **meta,
        "items": items,
    }
