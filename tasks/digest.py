"""The digest's steps as Prefect tasks: thin wrappers around ``novel_events``.

Only two task runs per digest: ``extract`` (fetch + novelty: retried on its own) and ``deliver``
(tasks/deliver.py). Loading the user and rendering are plain functions: a task run costs the server
states, events and logs, and these steps have nothing to retry or cache. Inputs are plain values
(ids, dataclasses), never live clients; the ledger, not the task cache, makes delivery idempotent;
results are not persisted (they would hold calendar data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE, CacheKeyFnPolicy
from prefect.tasks import exponential_backoff

from novel_events.events import CalendarDump, NovelEvent
from novel_events.links import email_links
from novel_events.models import User
from novel_events.novelty import NoveltyPrefs, analyze
from novel_events.render import RenderedDigest, render_digest
from novel_events.settings import load_settings
from novel_events.sources.feeds import FeedPolicy, read_feed
from novel_events.sources.ics import read_calendar
from tasks import store
from tasks.retry import call_retrying, honour_retry_after, retry_if_transient
from tasks.sealed import SealedPickleSerializer, cache_dir, sealing_available

HISTORY = dt.timedelta(days=365)
MAX_PROBLEMS_LOGGED = 20
CACHE_FOR = dt.timedelta(hours=6)  # longer than any catch-up window a re-run can fall in


def load_user(user_id: str, log: Any = None) -> User:
    """The user's settings; a store outage is ridden out for a minute, then the run fails (and is re-run)."""
    return call_retrying(lambda: store.users().get(user_id), budget=60.0, log=log)


def fetch_dump(user: User, now: dt.datetime, log: Any = None) -> CalendarDump:
    """The user's events over [now - history, now + lookahead)."""
    start, end = now - HISTORY, now + dt.timedelta(days=user.lookahead_days)
    if user.source.startswith("ics:"):
        data = read_feed(user.source, FeedPolicy.from_settings(load_settings()))
        result = read_calendar(data, start=start, end=end, user_tz=user.timezone)
        if log is not None and result.problems:  # one bad component costs itself, and is said
            for problem in result.problems[:MAX_PROBLEMS_LOGGED]:
                log.warning("iCal: %s", problem)
            log.warning("iCal: %d problem(s), %d event(s) skipped", len(result.problems), result.skipped)
        return result.dump
    from tasks.google import fetch_google  # lazy: only Google users pay for the client import

    return fetch_google(user, start, end, log)


def prefs_for(user: User) -> NoveltyPrefs:
    return NoveltyPrefs(
        lookahead_days=user.lookahead_days,
        sensitivity=user.sensitivity,
        include_calendars=tuple(user.include_calendars),
        exclude_calendars=tuple(user.exclude_calendars),
        include_all_day=user.include_all_day,
        include_declined=user.include_declined,
        mutes=store.mute_rules(user.id),
    )


def render_for(user: User, novel: list[NovelEvent], now: dt.datetime) -> RenderedDigest:
    settings = load_settings()
    links = email_links(settings.link_signer(), user.id, novel, now, settings.unsubscribe_url)
    return render_digest(
        novel,
        user_id=user.id,
        tz_name=user.timezone,
        lookahead_days=user.lookahead_days,
        schedule_text=user.schedule.describe(),
        generated_at=now,
        **links,
    )


def build_digest(user: User, now: dt.datetime) -> tuple[RenderedDigest, list[NovelEvent]]:
    """The whole digest without Prefect (``novel-events preview``)."""
    novel = analyze(fetch_dump(user, now), now=now, prefs=prefs_for(user), user_tz=user.timezone)
    return render_for(user, novel, now), novel


def _extract_cache_key(_: Any, params: dict[str, Any]) -> str | None:
    """Per (user, slot, settings that change the result); manual and dry runs have slots of their own."""
    user: User = params["user"]
    slot: str = params["slot"]
    if slot.startswith("manual:"):
        return None
    blob = json.dumps([user.source, user.timezone, user.lookahead_days, repr(prefs_for(user))])
    return f"extract-{user.id}-{slot.replace(':', '')}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


@task(
    name="extract-novel-events",
    retries=4,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=1.0,
    retry_condition_fn=retry_if_transient,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def extract(user: User, slot: str, now: dt.datetime) -> list[NovelEvent]:
    """Fetch the calendar and pick out the novel events: the one step worth retrying on its own.

    Cached per (user, slot) when sealing is available (see :func:`extract_for`), so a re-run of a slot
    after a mail or store outage does not fetch the calendar again.
    """
    log = get_run_logger()
    try:
        dump = fetch_dump(user, now, log)
    except Exception as exc:
        honour_retry_after(exc)  # e.g. Google's quotaExceeded: wait for the quota window, don't hammer
        raise
    novel = analyze(dump, now=now, prefs=prefs_for(user), user_tz=user.timezone)
    log.info(
        "fetched %d events from %d calendar(s); %d novel in the next %d days",
        sum(len(c.items) for c in dump.calendars),
        len(dump.calendars),
        len(novel),
        user.lookahead_days,
    )
    return novel


def extract_for(user: User, slot: str, now: dt.datetime) -> list[NovelEvent]:
    """Run ``extract``, cached (sealed, in ``HOME/cache``) when the sealing key can be had."""
    if slot.startswith("manual:") or not sealing_available():
        return extract(user, slot, now)
    cached = extract.with_options(
        cache_policy=CacheKeyFnPolicy(cache_key_fn=_extract_cache_key),
        cache_expiration=CACHE_FOR,
        persist_result=True,
        result_storage=cache_dir(load_settings().home),
        result_serializer=SealedPickleSerializer(),
    )
    return cached(user, slot, now)
