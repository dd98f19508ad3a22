"""Imported last by the forkserver (see ``PRELOAD`` in :mod:`deployments.worker.fork`): one sample digest's
pure steps, run once, so every forked run starts with what a first digest otherwise builds for itself.

A module is what the forkserver can be asked to load, hence the work at import. What it leaves behind in the
forkserver's memory, copied into every run by the fork: the digest templates compiled by Jinja, the iCal
parser's and recurrence expander's lazy state, the time zones of the sample, the novelty engine's and the
renderer's regexes and pydantic schemas, the MIME machinery of :mod:`email`. It reads only the package's
own templates: no settings, no store, no network, no thread (a fork copies only the calling thread), and
nothing of any real user. A failure here is swallowed: a cold run is slower, never wrong.
"""

from __future__ import annotations

import datetime as dt


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
