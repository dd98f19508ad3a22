"""Google Calendar fetch glue: grant + encrypted sync state in, dump out, within the fleet's rate limit."""

from __future__ import annotations

import datetime as dt
import logging

from prefect.concurrency.sync import rate_limit

from novel_events.errors import ReconnectRequired
from novel_events.events import CalendarDump
from novel_events.models import User
from novel_events.settings import load_settings
from novel_events.sources.google import CalendarSelection, fetch_google_calendar
from novel_events.store import SyncStateStore, UserStore
from tasks import credentials, fetch_stats, store
from tasks.limits import GOOGLE_API, GOOGLE_SLOTS_PER_FETCH

SOURCE = "google"


def fetch_google(
    user: User, start: dt.datetime, end: dt.datetime, log: logging.Logger | logging.LoggerAdapter | None = None
) -> CalendarDump:
    settings = load_settings()
    engine = store.store_engine(settings)
    grant = credentials.load_grant(user.id)
    key = credentials.state_key()
    states = SyncStateStore(engine)
    previous = states.get(user.id, SOURCE) if key else None
    rate_limit(GOOGLE_API.name, occupy=GOOGLE_SLOTS_PER_FETCH, strict=False)
    try:
        result = fetch_google_calendar(
            grant,
            time_min=start,
            time_max=end,
            selection=CalendarSelection.of(user.include_calendars, user.exclude_calendars),
            state=previous,
            state_key=key,
            api_endpoint=settings.google_api_endpoint,
        )
    except ReconnectRequired:
        UserStore(engine).set_needs_reconnect(user.id, True)
        raise
    states.put(user.id, SOURCE, result.state)
    fetch_stats.record(user.id, result.stats)
    if user.needs_reconnect:
        UserStore(engine).set_needs_reconnect(user.id, False)
    if log is not None:
        s = result.stats
        log.info(
            "google: %d API calls (+%d token), %d bytes, %d full / %d incremental syncs%s",
            s.api_calls,
            s.token_calls,
            s.bytes_received,
            s.full_syncs,
            s.incremental_syncs,
            f"; {s.state_note}" if s.state_note else "",
        )
    return result.dump
