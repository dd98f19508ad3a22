"""Imported last by the forkserver (see ``PRELOAD`` in :mod:`deployments.worker.fork`): one sample digest's
pure steps, run once, so every forked run starts with what a first digest otherwise builds for itself.

A module is what the forkserver can be asked to load, hence the work at import. What it leaves behind in the
forkserver's memory, copied into every run by the fork: the digest templates compiled by Jinja, the iCal
parser's and recurrence expander's lazy state, the time zones of the sample, the novelty engine's and the
renderer's regexes and pydantic schemas, the MIME machinery of :mod:`email`; every pydantic model Prefect
left to build on first use (:func:`complete_models`); the settings and the store's engine as the worker's
environment names them (:func:`prepare_store`: built, never connected). It opens no connection, makes no
network call, starts no thread (a fork copies only the calling thread) and reads nothing of any real user.
A failure here is swallowed: a cold run is slower, never wrong.

Measured with benchmarks/forked_digest.py, alternating with the previous warm-up in one sitting (CPU per
forked digest, median of 8): 0.724 and 0.733 s before, 0.697 and 0.675 s with the models, settings and
engine built here as well; the run also no longer sends the connector's "Created a new engine" log line.
"""

from __future__ import annotations

import datetime as dt


def complete_models() -> int:
    """Build now the validators pydantic would build on a model's first use; returns how many it built.

    Prefect defers most of its client schemas (states, runs, logs, artifacts, events: ~290 models after the
    preload) until first validated, and every forked run is a first use: each run rebuilt the ones it touched.
    """
    from pydantic import BaseModel

    built, seen, todo = 0, set(), [BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub in seen:
                continue
            seen.add(sub)
            todo.append(sub)
            if not sub.__pydantic_complete__:
                try:
                    built += bool(sub.model_rebuild())
                except Exception:  # a model that cannot be built yet builds itself on first use, as before
                    continue
    return built


def warm_up() -> bool:
    """Parse, analyse, render and build the MIME message of the first sample persona; True when it all ran."""
    from novel_events.mailers.base import OutgoingEmail
    from novel_events.novelty import NoveltyPrefs, analyze
    from novel_events.render import render_digest
    from novel_events.samples import PEOPLE, build_ics
    from novel_events.sources.ics import read_calendar
    from tasks.digest import HISTORY

    person = PEOPLE[0]
    now = dt.datetime.now(dt.UTC)
    prefs = NoveltyPrefs()
    feed = read_calendar(
        build_ics(person, now.date()),
        start=now - HISTORY,
        end=now + dt.timedelta(days=prefs.lookahead_days),
        user_tz=person.timezone,
    )
    novel = analyze(feed.dump, now=now, prefs=prefs, user_tz=person.timezone)
    digest = render_digest(
        novel,
        user_id=person.user_id,
        tz_name=person.timezone,
        lookahead_days=prefs.lookahead_days,
        schedule_text="daily at 07:30",
        generated_at=now,
        manage_url="http://warm-up.invalid/settings",
        unsubscribe_url="http://warm-up.invalid/unsubscribe",
    )
    mime = OutgoingEmail(
        to=person.email,
        from_="novel-events <digest@warm-up.invalid>",
        subject=digest.subject,
        html=digest.html,
        text=digest.text,
        message_id="<warm-up@warm-up.invalid>",
        date=now,
    ).to_mime()
    return bool(novel) and bool(mime.as_bytes())


try:
    WARM = warm_up()
except Exception:  # a warm-up must never keep the worker from starting
    WARM = False
try:
    MODELS_BUILT = complete_models()
except Exception:
    MODELS_BUILT = 0


def check_time_zones() -> bool:
    """Validate one schedule of each kind Prefect's client parses, as every run's first event does.

    A run's first event names its deployment as a related resource, so the run reads the deployment and
    validates its schedules; each schedule kind checks its time zone against a table built on first use
    (every IANA zone: a directory walk for one, ~600 file lookups through pytz for the other). In a forked
    run that was ~14 ms per digest (py-spy, 100-user burst); built here, it is inherited.
    """
    from prefect.client.schemas.schedules import CronSchedule, RRuleSchedule

    cron = CronSchedule(cron="0 8 * * *", timezone="Europe/Berlin")
    rrule = RRuleSchedule(rrule="FREQ=DAILY", timezone="Europe/Berlin")
    return cron.timezone == rrule.timezone


try:
    ZONES_READY = check_time_zones()
except Exception:
    ZONES_READY = False


def prepare_store() -> bool:
    """Build the settings and the store's engine (no connection) that a run of this worker would build.

    Both are cached by what they are built from (``NOVEL_EVENTS_*`` variables, the store URL): a run whose
    environment names the same ones finds them built, one with other values builds its own. The engine's pool
    is empty here (nothing connects before the fork), so each run opens its own connections.
    """
    from novel_events.settings import load_settings
    from tasks.store import store_engine

    store_engine(load_settings())
    return True


try:
    STORE_READY = prepare_store()
except Exception:  # bad settings say so in the run, with the run's own environment
    STORE_READY = False
