"""Google Calendar as a calendar source: a user's grant in, a :class:`CalendarDump` out.

:func:`fetch_google_calendar` reads the calendar list, the user's time-zone setting and, for every
chosen calendar, the ``singleEvents=true`` instances over ``[time_min, time_max)`` (all pages,
``maxResults=2500``). Given a ``state_key`` it keeps an encrypted sync state (see
:mod:`novel_events.sources.google_sync`) so an unchanged calendar costs one small incremental call
instead of a year of events. Errors are classified onto :mod:`novel_events.errors`
(see :mod:`novel_events.sources.google_errors`). No Prefect here.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet

from novel_events.errors import InvalidInput, PermanentError
from novel_events.events import CalendarData, CalendarDump, Event
from novel_events.sources.google_auth import (
    DEFAULT_API_ENDPOINT,
    DEFAULT_TOKEN_URI,
    READONLY_SCOPE,
    Grant,
    ServiceAccountGrant,
    UserGrant,
    build_credentials,
)
from novel_events.sources.google_client import CalendarApi
from novel_events.sources.google_errors import CalendarGone, FullSyncRequired
from novel_events.sources.google_retry import RetryPolicy
from novel_events.sources.google_sync import (
    CalendarCache,
    SyncState,
    in_window,
    new_state_key,
    seal,
    unseal,
)

__all__ = [
    "DEFAULT_API_ENDPOINT",
    "DEFAULT_SYNC_HORIZON",
    "DEFAULT_TOKEN_URI",
    "READONLY_SCOPE",
    "CalendarSelection",
    "FetchStats",
    "GoogleFetch",
    "Grant",
    "RetryPolicy",
    "ServiceAccountGrant",
    "UserGrant",
    "build_credentials",
    "fetch_google_calendar",
    "new_state_key",
]

DEFAULT_SYNC_HORIZON = dt.timedelta(days=28)
# Calendars Google generates (public holidays, contacts' birthdays): left out unless included by name.
GENERATED_CALENDAR_MARKERS = ("#holiday@", "#contacts@")


@dataclass(frozen=True)
class CalendarSelection:
    """Which calendars to read. Names match a calendar's id, summary or the user's own name for it
    (``summaryOverride``), case-insensitively; ``primary`` names the primary calendar.

    No ``include``: every listed calendar except the generated holiday/birthday ones.
    ``include``: only those. ``exclude`` always wins.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def of(cls, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> CalendarSelection:
        return cls(tuple(include), tuple(exclude))

    def choose(self, entries: Iterable[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], list[str]]:
        """(chosen entries in list order, include/exclude names that matched no calendar)."""
        entries = list(entries)
        used: set[str] = set()

        def hit(entry: Mapping[str, Any], names: tuple[str, ...]) -> bool:
            keys = {str(entry.get(k) or "").casefold() for k in ("id", "summary", "summaryOverride")}
            if entry.get("primary"):
                keys.add("primary")
            found = [n for n in names if n.casefold() in keys]
            used.update(found)
            return bool(found)

        chosen = []
        for entry in entries:
            included = hit(entry, self.include)
            if hit(entry, self.exclude):
                continue
            generated = any(m in str(entry.get("id", "")) for m in GENERATED_CALENDAR_MARKERS)
            if included or (not self.include and not generated):
                chosen.append(entry)
        unmatched = [n for n in (*self.include, *self.exclude) if n not in used]
        return chosen, unmatched


@dataclass
class FetchStats:
    """What one fetch cost and did (for logs and benchmarks)."""

    api_calls: int = 0  # Calendar API HTTP requests, retries included
    token_calls: int = 0  # token endpoint requests
    bytes_received: int = 0  # Calendar API response bodies (decoded)
    retries: int = 0
    calendars: int = 0
    events: int = 0
    full_syncs: int = 0
    incremental_syncs: int = 0
    resyncs_after_410: int = 0
    changes_applied: int = 0
    skipped_calendars: list[str] = field(default_factory=list)  # 404 while reading
    unmatched_names: list[str] = field(default_factory=list)  # include/exclude names matching nothing
    state_note: str | None = None  # why a given sync state was not used

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GoogleFetch:
    dump: CalendarDump
    stats: FetchStats
    state: bytes | None  # the new sync state blob (None without a state key); store it for next time


def fetch_google_calendar(
    grant: Grant,
    *,
    time_min: dt.datetime,
    time_max: dt.datetime,
    selection: CalendarSelection | None = None,
    state: bytes | None = None,
    state_key: bytes | None = None,
    api_endpoint: str = DEFAULT_API_ENDPOINT,
    retry: RetryPolicy | None = None,
    timeout: float = 30.0,
    sync_horizon: dt.timedelta = DEFAULT_SYNC_HORIZON,
    now: Callable[[], float] = time.time,
) -> GoogleFetch:
    """The user's calendars over ``[time_min, time_max)`` as a :class:`CalendarDump`.

    ``state``/``state_key``: the blob the previous fetch returned and the Fernet key it is sealed with
    (:func:`new_state_key`). Without a key every fetch lists the window in full and returns no state.
    Raises TransientError (retry later; ``retry_after`` hints when), ReconnectRequired (the user must
    connect again), PermanentError, InvalidInput (bad arguments).
    """
    _check_window(time_min, time_max)
    if state_key is not None:
        try:
            Fernet(state_key)
        except (ValueError, TypeError):
            raise InvalidInput("google sync state key", "expected a Fernet key (new_state_key())") from None
    selection = selection or CalendarSelection()
    stats = FetchStats()
    with CalendarApi(grant, api_endpoint=api_endpoint, retry=retry, timeout=timeout, now=now) as api:
        entries = api.calendar_list()
        chosen, stats.unmatched_names = selection.choose(entries)
        if selection.include and not chosen:
            names = ", ".join(repr(_name(e)) for e in entries)
            raise PermanentError(
                f"no Google calendar matches the included names {list(selection.include)}; calendars: {names}"
            )
        primary = next((str(e["id"]) for e in entries if e.get("primary")), None)
        setting = api.time_zone_setting() or next((e.get("timeZone") for e in entries if e.get("primary")), None)
        user_tz: str = setting if isinstance(setting, str) and _zone_or_none(setting) else "UTC"
        previous: SyncState | None = None
        if state_key is not None:
            previous, stats.state_note = unseal(state, state_key)
            if previous is not None and previous.account != primary:
                previous, stats.state_note = None, "sync state belongs to another account; full sync"
        sync = _Sync(api, stats, time_min, time_max, sync_horizon, keep_state=state_key is not None)
        new_state = SyncState(account=primary)
        calendars: list[CalendarData] = []
        for entry in chosen:
            cal_id = str(entry["id"])
            tz = _zone_or_none(entry.get("timeZone")) or ZoneInfo(user_tz)
            cached = previous.calendars.get(cal_id) if previous else None
            try:
                items, cache = sync.calendar(cal_id, tz, cached)
            except CalendarGone:
                stats.skipped_calendars.append(cal_id)
                continue
            if cache is not None:
                new_state.calendars[cal_id] = cache
            calendars.append(
                CalendarData(
                    id=cal_id,
                    summary=_name(entry),
                    time_zone=entry.get("timeZone"),
                    primary=bool(entry.get("primary")),
                    items=items,
                )
            )
        traffic = api.traffic
    stats.api_calls, stats.token_calls = traffic.api_calls, traffic.token_calls
    stats.bytes_received, stats.retries = traffic.bytes_received, traffic.retries
    stats.calendars, stats.events = len(calendars), sum(len(c.items) for c in calendars)
    blob = seal(new_state, state_key) if state_key is not None else None
    return GoogleFetch(dump=CalendarDump(time_zone=user_tz, calendars=calendars), stats=stats, state=blob)


@dataclass
class _Sync:
    api: CalendarApi
    stats: FetchStats
    time_min: dt.datetime
    time_max: dt.datetime
    horizon: dt.timedelta
    keep_state: bool

    def calendar(
        self, cal_id: str, tz: ZoneInfo, cache: CalendarCache | None
    ) -> tuple[list[Event], CalendarCache | None]:
        """(events in the window, the calendar's new cache or None)."""
        if self.keep_state and cache is not None and cache.covers(self.time_min, self.time_max):
            try:
                changes, token = self.api.events(cal_id, syncToken=cache.sync_token)
            except FullSyncRequired:
                self.stats.resyncs_after_410 += 1
                cache = None
            else:
                self.stats.incremental_syncs += 1
                self.stats.changes_applied += cache.apply(changes, tz)
                cache.sync_token = token or cache.sync_token
        else:
            cache = None
        if cache is None:
            cache = self._full(cal_id, tz)
        cache.slide(self.time_min, tz)
        events = in_window(cache.events.values(), tz, self.time_min, self.time_max)
        return events, cache if self.keep_state and cache.sync_token else None

    def _full(self, cal_id: str, tz: ZoneInfo) -> CalendarCache:
        """List the window (plus the sync horizon when state is kept) into a fresh cache."""
        covered_max = self.time_max + (self.horizon if self.keep_state else dt.timedelta(0))
        items, token = self.api.events(cal_id, timeMin=_rfc3339(self.time_min), timeMax=_rfc3339(covered_max))
        self.stats.full_syncs += 1
        cache = CalendarCache(sync_token=token or "", covered_min=self.time_min, covered_max=covered_max)
        cache.apply(items, tz)
        return cache


def _name(entry: Mapping[str, Any]) -> str:
    return str(entry.get("summaryOverride") or entry.get("summary") or entry.get("id"))


def _check_window(time_min: dt.datetime, time_max: dt.datetime) -> None:
    if time_min.tzinfo is None or time_max.tzinfo is None:
        raise InvalidInput("time window", "time_min and time_max must be timezone-aware")
    if time_max <= time_min:
        raise InvalidInput("time window", "time_max must be after time_min")


def _rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _zone_or_none(name: Any) -> ZoneInfo | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
