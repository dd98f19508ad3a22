"""The events store: accounts, their calendars and events, change versions for sync tokens."""

from __future__ import annotations

import copy
import datetime as dt
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tests.fakes.google.dumps import _bound, _etag, _rfc3339_now

if TYPE_CHECKING:
    from tests.fakes.google.fake import FakeGoogleCalendar


class _Calendar:
    def __init__(self, meta: Mapping[str, Any], user_tz: str) -> None:
        self.meta = {k: v for k, v in meta.items() if k != "items"}
        self.meta.setdefault("summary", self.meta["id"])
        self.meta.setdefault("timeZone", user_tz)
        self.id: str = self.meta["id"]
        self.tz = ZoneInfo(self.meta["timeZone"] or user_tz)
        self.items: dict[str, dict[str, Any]] = {}
        self.changed_at: dict[str, int] = {}

    def span(self, item: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime] | None:
        start = _bound(item.get("start"), self.tz)
        if start is None:
            return None
        end = _bound(item.get("end"), self.tz) or start
        return start, end

    def list_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kind": "calendar#calendarListEntry",
            "etag": _etag(self.id),
            "accessRole": "owner" if self.meta.get("primary") else "reader",
            "defaultReminders": [],
            "selected": True,
        }
        entry.update(self.meta)
        if not entry.get("primary"):
            entry.pop("primary", None)
        return entry


class FakeAccount:
    """One Google account: its calendars, its time-zone setting, its refresh tokens."""

    def __init__(self, fake: FakeGoogleCalendar, name: str, dump: Mapping[str, Any]) -> None:
        self._fake = fake
        self.name = name
        self.time_zone: str = dump.get("timeZone") or "UTC"
        self.calendars: dict[str, _Calendar] = {}
        self.subject: str | None = None
        for cal in dump.get("calendars") or []:
            self.add_calendar(cal)

    # -- hooks -------------------------------------------------------------------------------------
    @property
    def primary_id(self) -> str | None:
        return next((c.id for c in self.calendars.values() if c.meta.get("primary")), None)

    def add_calendar(self, calendar: Mapping[str, Any]) -> None:
        with self._fake.lock:
            cal = _Calendar(calendar, self.time_zone)
            self.calendars[cal.id] = cal
            for item in calendar.get("items") or []:
                cal.items[item["id"]] = copy.deepcopy(item)
                cal.changed_at[item["id"]] = 0

    def set_time_zone(self, tz: str) -> None:
        ZoneInfo(tz)
        self.time_zone = tz

    def add_event(self, calendar_id: str, event: Mapping[str, Any]) -> dict[str, Any]:
        """Create (or replace) an event; returns the stored resource."""
        with self._fake.lock:
            cal = self._calendar(calendar_id)
            item = {"kind": "calendar#event", "status": "confirmed", **copy.deepcopy(dict(event))}
            item.setdefault("id", secrets.token_hex(13))
            return self._store(cal, item)

    def update_event(self, calendar_id: str, event_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into an event (top-level keys), like events.patch."""
        with self._fake.lock:
            cal = self._calendar(calendar_id)
            item = copy.deepcopy(cal.items[event_id])
            item.update(copy.deepcopy(dict(changes)))
            return self._store(cal, item)

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        with self._fake.lock:
            cal = self._calendar(calendar_id)
            if event_id not in cal.items:
                raise KeyError(event_id)
            self._store(cal, {"kind": "calendar#event", "id": event_id, "status": "cancelled"})

    def events(self, calendar_id: str) -> list[dict[str, Any]]:
        """Live (not cancelled) events of a calendar, as stored."""
        with self._fake.lock:
            cal = self._calendar(calendar_id)
            return [copy.deepcopy(e) for e in cal.items.values() if e.get("status") != "cancelled"]

    def invalidate_sync_tokens(self, calendar_id: str | None = None) -> None:
        """Every sync token issued so far for the calendar (or all) gets ``410 fullSyncRequired``."""
        with self._fake.lock:
            for token, (acct, cal_id, _v, _s) in list(self._fake.sync_tokens.items()):
                if acct == self.name and calendar_id in (None, cal_id):
                    del self._fake.sync_tokens[token]

    # -- internals ---------------------------------------------------------------------------------
    def _calendar(self, calendar_id: str) -> _Calendar:
        if calendar_id == "primary":
            calendar_id = self.primary_id or ""
        return self.calendars[calendar_id]

    def _store(self, cal: _Calendar, item: dict[str, Any]) -> dict[str, Any]:
        version = next(self._fake.versions)
        item["updated"] = _rfc3339_now()
        item["etag"] = _etag((cal.id, item["id"], version))
        cal.items[item["id"]] = item
        cal.changed_at[item["id"]] = version
        return copy.deepcopy(item)
