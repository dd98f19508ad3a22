"""Calendar data as every source hands it over: the dump format of docs/DESIGN.md.

Every source (Google, iCal) produces :class:`CalendarDump`: a user time zone and calendars whose
``items`` are Calendar API v3 Event resources as ``events.list(singleEvents=true)`` returns them
(plain dicts). Everything downstream (novelty, rendering) reads only this shape.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from novel_events.errors import InvalidInput

Event = dict[str, Any]


@dataclass(slots=True)
class CalendarData:
    id: str
    summary: str = ""
    time_zone: str | None = None
    primary: bool = False
    items: list[Event] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "summary": self.summary,
            "timeZone": self.time_zone,
            "primary": self.primary,
            "items": self.items,
        }


@dataclass(slots=True)
class CalendarDump:
    time_zone: str
    calendars: list[CalendarData] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any) -> CalendarDump:
        if not isinstance(data, dict):
            raise InvalidInput("dump", "expected a JSON object with 'timeZone' and 'calendars'")
        tz = data.get("timeZone") or "UTC"
        zone(tz, field_name="dump.timeZone")
        cals_raw = data.get("calendars")
        if not isinstance(cals_raw, list):
            raise InvalidInput("dump.calendars", "expected a list of calendars")
        cals = []
        for i, c in enumerate(cals_raw):
            if not isinstance(c, dict) or not isinstance(c.get("id"), str):
                raise InvalidInput(f"dump.calendars[{i}]", "expected an object with a string 'id'")
            items = c.get("items") or []
            if not isinstance(items, list):
                raise InvalidInput(f"dump.calendars[{i}].items", "expected a list of events")
            cals.append(
                CalendarData(
                    id=c["id"],
                    summary=str(c.get("summary") or c["id"]),
                    time_zone=c.get("timeZone"),
                    primary=bool(c.get("primary")),
                    items=[e for e in items if isinstance(e, dict)],
                )
            )
        return cls(time_zone=tz, calendars=cals)

    @classmethod
    def load(cls, path: str | Path) -> CalendarDump:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput("DUMP", f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput("DUMP", f"{path} is not JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_json(data)

    def to_json(self) -> dict[str, Any]:
        return {"timeZone": self.time_zone, "calendars": [c.to_json() for c in self.calendars]}


def zone(name: str, *, field_name: str = "timezone") -> ZoneInfo:
    """The ZoneInfo for an IANA name, or InvalidInput naming ``field_name``."""
    try:
        if not name or name != name.strip() or len(name) > 64:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        shown = repr(name) if len(str(name)) <= 64 else f"{str(name)[:40]!r}… ({len(name)} characters)"
        raise InvalidInput(
            field_name, f"unknown time zone {shown}; use an IANA name such as Europe/Berlin or UTC"
        ) from None


def parse_instant(value: str) -> dt.datetime:
    """An RFC 3339 timestamp as an aware datetime (``Z`` accepted)."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def event_start(event: Event, default_tz: ZoneInfo) -> tuple[dt.datetime, bool] | None:
    """(start as aware datetime, is_all_day) or None when the event has no usable start.

    All-day events start at local midnight of their date in ``default_tz``.
    """
    return _when(event.get("start") or {}, default_tz)


def event_end(event: Event, default_tz: ZoneInfo) -> tuple[dt.datetime, bool] | None:
    return _when(event.get("end") or {}, default_tz)


def _when(value: Any, default_tz: ZoneInfo) -> tuple[dt.datetime, bool] | None:
    if not isinstance(value, dict):
        return None
    try:
        if value.get("dateTime"):
            moment = dt.datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
            if moment.tzinfo is None:  # wall time without offset: the event's own zone, else the user's
                own = value.get("timeZone")
                try:
                    tz = ZoneInfo(own) if isinstance(own, str) and own else default_tz
                except (ZoneInfoNotFoundError, ValueError):
                    tz = default_tz
                moment = moment.replace(tzinfo=tz)
            return moment, False
        if value.get("date"):
            d = dt.date.fromisoformat(str(value["date"]))
            return dt.datetime(d.year, d.month, d.day, tzinfo=default_tz), True
    except (ValueError, TypeError):
        return None
    return None


@dataclass(slots=True, frozen=True)
class NovelEvent:
    """One event the analysis picked, with why."""

    calendar_id: str
    event_id: str
    score: float
    reasons: tuple[str, ...]
    event: Event = field(compare=False, hash=False, repr=False)
    start: dt.datetime = field(compare=False)
    all_day: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "calendarId": self.calendar_id,
            "id": self.event_id,
            "score": round(self.score, 3),
            "reasons": list(self.reasons),
        }
