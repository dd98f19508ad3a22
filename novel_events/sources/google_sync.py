"""Incremental sync state: per calendar a sync token and the cached events of the window it covers.

The caller keeps the state as an opaque ``bytes`` blob: JSON, zlib-compressed, then encrypted and
authenticated with Fernet (AES-128-CBC + HMAC-SHA256) under a key the caller holds. At rest the blob
is neither readable nor editable; a blob that does not decrypt (other key, corrupt, other format)
is dropped and the next fetch does a full sync.

A calendar's cache covers ``[covered_min, covered_max)``: a full sync lists that window, later fetches
apply ``events.list(syncToken=...)`` changes to it. Google sends changes for the whole calendar, so
changes outside the window are dropped, and an event that moved out is removed. Requests whose
window is not inside the covered one get a full sync again (the covered window extends
``horizon`` past the requested end, so a daily digest re-lists a calendar about once per horizon).
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet, InvalidToken

from novel_events.events import Event, event_end, event_start, parse_instant

FORMAT = 1
# Fields dropped from every event before caching or handing over: transport noise, not calendar data.
DROPPED_FIELDS = frozenset({"kind", "etag", "reminders", "sequence"})


def new_state_key() -> bytes:
    """A fresh key for :func:`seal` / :func:`unseal` (urlsafe base64 of 32 random bytes)."""
    return Fernet.generate_key()


def compact(event: Event) -> Event:
    return {k: v for k, v in event.items() if k not in DROPPED_FIELDS}


def span(event: Event, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime] | None:
    """(start, end) instants; all-day dates are midnights in ``tz`` (the calendar's zone)."""
    start = event_start(event, tz)
    if start is None:
        return None
    end = event_end(event, tz)
    return start[0], end[0] if end else start[0]


def overlaps(event: Event, tz: ZoneInfo, time_min: dt.datetime, time_max: dt.datetime) -> bool:
    """Google's window rule: the event ends after ``time_min`` and starts before ``time_max``."""
    s = span(event, tz)
    return s is not None and s[1] > time_min and s[0] < time_max


def in_window(events: Iterable[Event], tz: ZoneInfo, time_min: dt.datetime, time_max: dt.datetime) -> list[Event]:
    """The live events of the window, chronological (ties by id), so every fetch orders alike."""
    chosen = [e for e in events if e.get("status") != "cancelled" and overlaps(e, tz, time_min, time_max)]
    return sorted(chosen, key=lambda e: (span(e, tz)[0], str(e.get("id", ""))))  # type: ignore[index]


@dataclass
class CalendarCache:
    sync_token: str
    covered_min: dt.datetime
    covered_max: dt.datetime
    events: dict[str, Event] = field(default_factory=dict)

    def covers(self, time_min: dt.datetime, time_max: dt.datetime) -> bool:
        return self.covered_min <= time_min and time_max <= self.covered_max

    def apply(self, changes: Iterable[Event], tz: ZoneInfo) -> int:
        """Apply incremental results; returns how many items changed the cache."""
        changed = 0
        for item in changes:
            event_id = item.get("id")
            if not isinstance(event_id, str):
                continue
            keep = item.get("status") != "cancelled" and overlaps(item, tz, self.covered_min, self.covered_max)
            if keep:
                self.events[event_id] = compact(item)
                changed += 1
            elif self.events.pop(event_id, None) is not None:
                changed += 1
        return changed

    def slide(self, time_min: dt.datetime, tz: ZoneInfo) -> None:
        """Forget what ended before ``time_min``: the cache never needs it again."""
        if time_min <= self.covered_min:
            return
        self.covered_min = time_min
        self.events = {k: e for k, e in self.events.items() if overlaps(e, tz, time_min, self.covered_max)}

    def to_json(self) -> dict[str, Any]:
        return {
            "syncToken": self.sync_token,
            "min": self.covered_min.isoformat(),
            "max": self.covered_max.isoformat(),
            "events": list(self.events.values()),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CalendarCache:
        return cls(
            sync_token=str(data["syncToken"]),
            covered_min=parse_instant(data["min"]),
            covered_max=parse_instant(data["max"]),
            events={str(e["id"]): e for e in data["events"]},
        )


@dataclass
class SyncState:
    """The whole state of one user's Google source. ``account`` is the primary calendar's id."""

    account: str | None = None
    calendars: dict[str, CalendarCache] = field(default_factory=dict)


def seal(state: SyncState, key: bytes) -> bytes:
    payload = {
        "v": FORMAT,
        "account": state.account,
        "calendars": {cid: c.to_json() for cid, c in state.calendars.items()},
    }
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Fernet(key).encrypt(zlib.compress(raw, 6))


def unseal(blob: bytes | None, key: bytes) -> tuple[SyncState | None, str | None]:
    """(state, None), or (None, why) when there is no usable state in ``blob``."""
    if not blob:
        return None, None
    try:
        raw = zlib.decompress(Fernet(key).decrypt(blob))
        data = json.loads(raw)
    except (InvalidToken, zlib.error, ValueError, TypeError):
        return None, "sync state did not decrypt (other key or corrupt); full sync"
    if not isinstance(data, dict) or data.get("v") != FORMAT:
        return None, "sync state has another format; full sync"
    try:
        calendars = {str(cid): CalendarCache.from_json(c) for cid, c in data["calendars"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        return None, "sync state is malformed; full sync"
    return SyncState(account=data.get("account"), calendars=calendars), None
