"""Builders for calendar dumps in the novelty tests (no I/O, no mocks)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from novel_events.events import CalendarData, CalendarDump, NovelEvent
from novel_events.novelty import NoveltyPrefs, analyze

PRIMARY = "me@example.com"


class Cal:
    """A user's calendars, built event by event, with ``now`` fixed.

    Times are local wall times in the user's zone unless given aware. ``ago(days, hour)`` and
    ``ahead(days, hour)`` place events relative to ``now``'s local date.
    """

    def __init__(self, tz: str = "Europe/Berlin", now: dt.datetime | None = None) -> None:
        self.tz = tz
        self.zone = ZoneInfo(tz)
        self.now = now or dt.datetime(2025, 6, 18, 6, 0, tzinfo=self.zone)
        self.calendars: dict[str, CalendarData] = {}
        self._ids = itertools.count(1)
        self.calendar(PRIMARY, "Me", primary=True)

    # --- calendars and events ---------------------------------------------------------------

    def calendar(self, cal_id: str, summary: str, *, tz: str | None = None, primary: bool = False) -> str:
        self.calendars.setdefault(
            cal_id, CalendarData(id=cal_id, summary=summary, time_zone=tz or self.tz, primary=primary)
        )
        return cal_id

    def at(self, days: float, hour: int = 12, minute: int = 0) -> dt.datetime:
        """Local wall time ``days`` after now's local date (negative: in the past)."""
        d = self.now.astimezone(self.zone).date() + dt.timedelta(days=int(days))
        return dt.datetime(d.year, d.month, d.day, hour, minute, tzinfo=self.zone)

    def event(
        self,
        title: str | None,
        start: dt.datetime,
        *,
        minutes: int = 60,
        cal: str = PRIMARY,
        eid: str | None = None,
        series: str | None = None,
        zone: str | None = None,
        people: Iterable[str] = (),
        response: str = "accepted",
        **extra: Any,
    ) -> dict[str, Any]:
        zone_name = zone or self.tz
        local = start.astimezone(ZoneInfo(zone_name))
        ev: dict[str, Any] = {
            "kind": "calendar#event",
            "id": eid or f"e{next(self._ids):05d}",
            "status": "confirmed",
            "eventType": "default",
            "start": {"dateTime": local.isoformat(), "timeZone": zone_name},
            "end": {"dateTime": (local + dt.timedelta(minutes=minutes)).isoformat(), "timeZone": zone_name},
            "organizer": {"email": PRIMARY, "self": True},
        }
        if title is not None:
            ev["summary"] = title
        if series:
            ev["recurringEventId"] = series
            ev["id"] = f"{series}_{local.strftime('%Y%m%dT%H%M%S')}" if eid is None else eid
        attendees: list[dict[str, Any]] = [{"email": p, "responseStatus": "accepted"} for p in people]
        if attendees or response != "accepted":
            attendees.append({"email": PRIMARY, "self": True, "responseStatus": response})
            ev["attendees"] = attendees
        ev.update(extra)
        self.calendars[cal].items.append(ev)
        return ev

    def all_day(self, title: str, day: dt.date, *, days: int = 1, cal: str = PRIMARY, **extra: Any) -> dict[str, Any]:
        ev: dict[str, Any] = {
            "id": f"d{next(self._ids):05d}",
            "status": "confirmed",
            "eventType": "default",
            "summary": title,
            "start": {"date": day.isoformat()},
            "end": {"date": (day + dt.timedelta(days=days)).isoformat()},
        }
        ev.update(extra)
        self.calendars[cal].items.append(ev)
        return ev

    def weekly(self, title: str, first: dt.datetime, count: int, **kw: Any) -> list[dict[str, Any]]:
        """``count`` events a week apart (same wall time in the event's zone), e.g. a series."""
        out = []
        zone = ZoneInfo(kw.get("zone") or self.tz)
        for i in range(count):
            local = first.astimezone(zone) + dt.timedelta(days=7 * i)
            wall = dt.datetime(local.year, local.month, local.day, local.hour, local.minute, tzinfo=zone)
            out.append(self.event(title, wall, **kw))
        return out

    def habit(self, title: str, *, weeks: int = 20, hour: int = 18, weekday_offset: int = 0, **kw: Any) -> None:
        """A weekly habit without a series over the past ``weeks`` weeks."""
        self.weekly(title, self.at(-7 * weeks + weekday_offset, hour), weeks, **kw)

    # --- running ----------------------------------------------------------------------------

    def dump(self) -> CalendarDump:
        return CalendarDump(time_zone=self.tz, calendars=list(self.calendars.values()))

    def run(self, **prefs: Any) -> list[NovelEvent]:
        user_tz = prefs.pop("user_tz", None)
        return analyze(self.dump(), now=self.now, prefs=NoveltyPrefs(**prefs), user_tz=user_tz)

    def novel_ids(self, **prefs: Any) -> list[str]:
        return [n.event_id for n in self.run(**prefs)]

    def verdict(self, ev: dict[str, Any], **prefs: Any) -> NovelEvent | None:
        """The NovelEvent for ``ev`` or None if it was not reported."""
        return next((n for n in self.run(**prefs) if n.event_id == ev["id"]), None)


@pytest.fixture(scope="session")
def make_cal() -> Callable[..., Cal]:
    """Factory of :class:`Cal` builders (session-scoped: safe with hypothesis)."""
    return Cal
