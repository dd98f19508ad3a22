"""The Calendar API v3 routes: calendarList, settings/timezone, calendars/{id}, calendars/{id}/events."""

from __future__ import annotations

import copy
import datetime as dt
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tests.fakes.google.constants import API_PREFIX, CALENDAR_SCOPES, MAX_PAGE
from tests.fakes.google.dumps import _etag, _rfc3339_now, parse_rfc3339
from tests.fakes.google.errors import ApiError
from tests.fakes.google.sync import _NOT_WITH_SYNC_TOKEN, Paging, _Cursor, _page_size

if TYPE_CHECKING:
    import threading

    from tests.fakes.google.accounts import FakeAccount, _Calendar


class CalendarApi(Paging):
    """The API half of :class:`~tests.fakes.google.fake.FakeGoogleCalendar` (a mixin)."""

    lock: threading.RLock

    def api(self, account_name: str, scopes: frozenset[str], path: str, query: Mapping[str, list[str]]) -> Any:
        if not scopes & CALENDAR_SCOPES:
            raise ApiError(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
        with self.lock:
            account = self.accounts[account_name]
            parts = [urllib.parse.unquote(p) for p in path[len(API_PREFIX) :].split("/")]
            if parts == ["users", "me", "calendarList"]:
                return self._calendar_list(account, path, query)
            if parts == ["users", "me", "settings", "timezone"]:
                return {
                    "kind": "calendar#setting",
                    "etag": _etag(account.time_zone),
                    "id": "timezone",
                    "value": account.time_zone,
                }
            if len(parts) in (2, 3) and parts[0] == "calendars":
                try:
                    cal = account._calendar(parts[1])
                except KeyError:
                    raise ApiError(404, "notFound", "Not Found") from None
                if len(parts) == 2:
                    return {
                        "kind": "calendar#calendar",
                        "etag": _etag(cal.id),
                        "id": cal.id,
                        "summary": cal.meta["summary"],
                        "timeZone": cal.meta["timeZone"],
                    }
                if parts[2] == "events":
                    return self._events(account, cal, path, query)
            raise ApiError(404, "notFound", "Not Found")

    def _calendar_list(self, account: FakeAccount, path: str, query: Mapping[str, list[str]]) -> Any:
        q = {k: v[0] for k, v in query.items()}
        if "syncToken" in q:
            raise ApiError(400, "invalid", "calendarList syncToken is not supported by this fake")
        size = _page_size(q, default=100, cap=250)
        cursor = self._cursor(account, path, q)
        if cursor is None:
            show_hidden = q.get("showHidden") == "true"
            entries = [c.list_entry() for c in account.calendars.values()]
            entries = [e for e in entries if show_hidden or not e.get("hidden")]
            cursor = _Cursor(account.name, path, entries, 0, size, None, True)
        body: dict[str, Any] = {"kind": "calendar#calendarList", "etag": _etag(len(cursor.items))}
        return self._page(body, cursor, size)

    def _events(self, account: FakeAccount, cal: _Calendar, path: str, query: Mapping[str, list[str]]) -> Any:
        q = {k: v[0] for k, v in query.items()}
        single = q.get("singleEvents") == "true"
        size = _page_size(q, default=250, cap=MAX_PAGE)
        if q.get("orderBy") == "startTime" and not single:
            raise ApiError(400, "badRequest", "The requested ordering is not available for the particular query.")
        if q.get("orderBy") not in (None, "startTime", "updated"):
            raise ApiError(400, "invalidParameter", f"Invalid value for orderBy: {q['orderBy']}")
        cursor = self._cursor(account, path, q)
        if cursor is None:
            if "syncToken" in q:
                cursor = self._incremental(account, cal, path, q, single, size)
            else:
                cursor = self._full(account, cal, path, query, q, single, size)
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": _etag((cal.id, cursor.sync_version)),
            "summary": cal.meta["summary"],
            "description": cal.meta.get("description", ""),
            "updated": _rfc3339_now(),
            "timeZone": cal.meta["timeZone"],
            "accessRole": "owner" if cal.meta.get("primary") else "reader",
            "defaultReminders": [],
        }
        return self._page(body, cursor, size)

    def _full(
        self,
        account: FakeAccount,
        cal: _Calendar,
        path: str,
        query: Mapping[str, list[str]],
        q: Mapping[str, str],
        single: bool,
        size: int,
    ) -> _Cursor:
        try:
            time_min = parse_rfc3339(q["timeMin"]) if "timeMin" in q else None
            time_max = parse_rfc3339(q["timeMax"]) if "timeMax" in q else None
            updated_min = parse_rfc3339(q["updatedMin"]) if "updatedMin" in q else None
        except ValueError:
            raise ApiError(400, "badRequest", "Bad Request") from None
        if time_min and time_max and time_max <= time_min:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
        show_deleted = q.get("showDeleted") == "true"
        text = q.get("q", "").lower()
        types = set(query.get("eventTypes", []))
        items: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        for position, item in enumerate(cal.items.values()):
            cancelled = item.get("status") == "cancelled"
            if cancelled and not show_deleted:
                continue
            span = cal.span(item)
            if span is None and not cancelled:
                continue
            if span is not None:
                if time_min is not None and span[1] <= time_min:
                    continue
                if time_max is not None and span[0] >= time_max:
                    continue
            if text and not any(text in str(item.get(k, "")).lower() for k in ("summary", "description", "location")):
                continue
            if types and item.get("eventType", "default") not in types:
                continue
            if "iCalUID" in q and item.get("iCalUID") != q["iCalUID"]:
                continue
            if updated_min and ("updated" not in item or parse_rfc3339(item["updated"]) < updated_min):
                continue
            if q.get("orderBy") == "startTime":
                key: tuple[Any, ...] = (span[0] if span else dt.datetime.min.replace(tzinfo=dt.UTC), position)
            elif q.get("orderBy") == "updated":
                key = (item.get("updated", ""), position)
            else:
                key = (position,)
            items.append((key, item))
        items.sort(key=lambda kv: kv[0])
        chosen = [copy.deepcopy(e) for _, e in items]
        if not single:
            chosen = _collapse_series(chosen)
        syncable = not any(p in q for p in _NOT_WITH_SYNC_TOKEN if p not in ("timeMin", "timeMax"))
        return _Cursor(account.name, path, chosen, 0, size, self._latest(cal) if syncable else None, single)


def _collapse_series(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``singleEvents=false`` view of expanded instances: one stand-in master per series."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        series = item.get("recurringEventId")
        if not series:
            out.append(item)
        elif series not in seen:
            seen.add(series)
            master = {k: v for k, v in item.items() if k not in ("recurringEventId", "originalStartTime")}
            master["id"] = series
            master["recurrence"] = ["RRULE:FREQ=WEEKLY"]  # the fake does not know the real rule
            out.append(master)
    return out
