"""The digest's steps as Prefect tasks: thin wrappers around ``novel_events``.

Inputs are plain values (ids, dataclasses), never live clients. Heavy inputs are not hashed
(``NO_CACHE``); the ledger, not the task cache, is what makes delivery idempotent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from novel_events.events import CalendarDump, NovelEvent
from novel_events.links import email_links
from novel_events.models import User
from novel_events.novelty import NoveltyPrefs, analyze
from novel_events.render import RenderedDigest, render_digest
from novel_events.settings import load_settings
from novel_events.sources.ics import parse_ics, read_ics
from tasks import store
from tasks.retry import honour_retry_after, retry_if_transient

HISTORY = dt.timedelta(days=365)


@task(name="load-user", retries=2, retry_delay_seconds=2, retry_condition_fn=retry_if_transient,
      cache_policy=NO_CACHE)
def load_user(user_id: str) -> User:
    return store.users().get(user_id)


def fetch_dump(user: User, now: dt.datetime, log: Any = None) -> CalendarDump:
    """The user's events over [now - history, now + lookahead)."""
    start, end = now - HISTORY, now + dt.timedelta(days=user.lookahead_days)
    if user.source.startswith("ics:"):
        return parse_ics(read_ics(user.source[4:]), start=start, end=end, user_tz=user.timezone)
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
        novel, user_id=user.id, tz_name=user.timezone, lookahead_days=user.lookahead_days,
        schedule_text=user.schedule.describe(), generated_at=now, **links,
    )


def build_digest(user: User, now: dt.datetime) -> tuple[RenderedDigest, list[NovelEvent]]:
    """The whole digest without Prefect (``novel-events preview``)."""
    novel = analyze(fetch_dump(user, now), now=now, prefs=prefs_for(user), user_tz=user.timezone)
    return render_for(user, novel, now), novel


@task(name="fetch-calendar", retries=4, retry_delay_seconds=exponential_backoff(backoff_factor=2),
      retry_jitter_factor=1.0, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE)
def fetch_calendar(user: User, now: dt.datetime) -> CalendarDump:
    log = get_run_logger()
    try:
        dump = fetch_dump(user, now, log)
    except Exception as exc:
        honour_retry_after(exc)  # e.g. Google's quotaExceeded: wait for the quota window, don't hammer
        raise
    log.info(
        "fetched %d events from %d calendar(s)", sum(len(c.items) for c in dump.calendars), len(dump.calendars)
    )
    return dump


@task(name="detect-novel", cache_policy=NO_CACHE)
def detect(dump: CalendarDump, user: User, now: dt.datetime) -> list[NovelEvent]:
    novel = analyze(dump, now=now, prefs=prefs_for(user), user_tz=user.timezone)
    get_run_logger().info("%d novel event(s) in the next %d days", len(novel), user.lookahead_days)
    return novel


@task(name="render-digest", cache_policy=NO_CACHE)
def render(user: User, novel: list[NovelEvent], now: dt.datetime) -> RenderedDigest:
    return render_for(user, novel, now)
