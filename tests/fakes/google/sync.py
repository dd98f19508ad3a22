"""Pagination and incremental sync: page tokens over a snapshot, sync tokens, tombstones, 410s."""

from __future__ import annotations

import copy
import secrets
import urllib.parse
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.google.constants import API_PREFIX
from tests.fakes.google.errors import ApiError

if TYPE_CHECKING:
    from tests.fakes.google.accounts import FakeAccount, _Calendar

_NOT_WITH_SYNC_TOKEN = (
    "timeMin",
    "timeMax",
    "orderBy",
    "q",
    "iCalUID",
    "updatedMin",
    "privateExtendedProperty",
    "sharedExtendedProperty",
)


@dataclass
class _Cursor:
    account: str
    path: str
    items: list[dict[str, Any]]
    offset: int
    page_size: int
    sync_version: int | None
    single_events: bool
    extra: dict[str, Any] = field(default_factory=dict)


class Paging:
    """Page and sync tokens of :class:`~tests.fakes.google.fake.FakeGoogleCalendar` (a mixin)."""

    accounts: dict[str, FakeAccount]
    sync_tokens: dict[str, tuple[str, str, int, bool]]
    cursors: OrderedDict[str, _Cursor]

    def _incremental(
        self, account: FakeAccount, cal: _Calendar, path: str, q: Mapping[str, str], single: bool, size: int
    ) -> _Cursor:
        bad = [p for p in _NOT_WITH_SYNC_TOKEN if p in q]
        if bad:
            raise ApiError(400, "invalid", f"syncToken cannot be used together with {', '.join(bad)}.")
        issued = self.sync_tokens.get(q["syncToken"])
        if issued is None or issued[0] != account.name or issued[1] != cal.id:
            raise ApiError(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
        if issued[3] != single:
            raise ApiError(400, "invalid", "singleEvents differs from the query that issued the sync token.")
        since = issued[2]
        changed = [cal.items[i] for i, v in cal.changed_at.items() if v > since]
        items = [_tombstone(e) if e.get("status") == "cancelled" else copy.deepcopy(e) for e in changed]
        return _Cursor(account.name, path, items, 0, size, self._latest(cal), single)

    @staticmethod
    def _latest(cal: _Calendar) -> int:
        return max(cal.changed_at.values(), default=0)

    def _cursor(self, account: FakeAccount, path: str, q: Mapping[str, str]) -> _Cursor | None:
        token = q.get("pageToken")
        if not token:
            return None
        cursor = self.cursors.get(token)
        if cursor is None or cursor.account != account.name or cursor.path != path:
            raise ApiError(400, "invalid", "Invalid page token value.")
        return cursor

    def _page(self, body: dict[str, Any], cursor: _Cursor, size: int) -> dict[str, Any]:
        end = cursor.offset + size
        body["items"] = cursor.items[cursor.offset : end]
        if end < len(cursor.items):
            token = "pt_" + secrets.token_urlsafe(12)
            self.cursors[token] = _Cursor(
                cursor.account,
                cursor.path,
                cursor.items,
                end,
                size,
                cursor.sync_version,
                cursor.single_events,
            )
            while len(self.cursors) > 2000:
                self.cursors.popitem(last=False)
            body["nextPageToken"] = token
        elif cursor.sync_version is not None and body["kind"] == "calendar#events":
            token = "st_" + secrets.token_urlsafe(12)
            cal_id = cursor.path[len(API_PREFIX) :].split("/")[1]
            self.sync_tokens[token] = (
                cursor.account,
                self._resolve(cursor.account, urllib.parse.unquote(cal_id)),
                cursor.sync_version,
                cursor.single_events,
            )
            body["nextSyncToken"] = token
        return body

    def _resolve(self, account: str, calendar_id: str) -> str:
        return self.accounts[account]._calendar(calendar_id).id


def _page_size(q: Mapping[str, str], *, default: int, cap: int) -> int:
    raw = q.get("maxResults")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400,
            "invalidParameter",
            f"Invalid value '{raw}'. Values must match the following regular expression: '[0-9]+'",
        ) from None
    if value < 1:
        raise ApiError(400, "invalidParameter", "Invalid value for maxResults")
    return min(value, cap)


def _tombstone(item: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("kind", "etag", "id", "status", "recurringEventId", "originalStartTime")
    return {k: copy.deepcopy(item[k]) for k in keep if k in item}
