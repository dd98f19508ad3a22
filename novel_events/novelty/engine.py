"""``analyze``: the upcoming events of a calendar dump that break the user's routine."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from novel_events.errors import InvalidInput
from novel_events.events import CalendarDump, NovelEvent, zone
from novel_events.novelty.features import MAX_YEAR, MIN_YEAR, EventFeatures, extract
from novel_events.novelty.filters import is_mirror_calendar, never_novel
from novel_events.novelty.history import HistoryIndex
from novel_events.novelty.mutes import MuteIndex
from novel_events.novelty.prefs import NoveltyPrefs, validate
from novel_events.novelty.rules import Assessment, assess

# What a malformed event dict can make the feature extraction raise; such events are skipped.
_BAD_EVENT = (ValueError, TypeError, KeyError, AttributeError, OverflowError, IndexError)


def analyze(
    dump: CalendarDump,
    *,
    now: dt.datetime,
    prefs: NoveltyPrefs = NoveltyPrefs(),
    user_tz: str | None = None,
) -> list[NovelEvent]:
    """The novel events starting in [now, now + lookahead), chronological.

    Sorted by absolute start, then calendar id, then event id. ``user_tz`` (an IANA name) defaults
    to the dump's zone; all-day events are dates in that zone. Raises :class:`InvalidInput` for bad
    preferences, a naive ``now`` or an unknown zone; malformed events are skipped.
    """
    found = [
        NovelEvent(
            calendar_id=f.calendar_id,
            event_id=f.event_id,
            score=verdict.score,
            reasons=verdict.reasons,
            event=f.event,
            start=f.start,
            all_day=f.all_day,
        )
        for f, verdict in assess_upcoming(dump, now=now, prefs=prefs, user_tz=user_tz)
        if verdict.score >= prefs.threshold
    ]
    found.sort(key=lambda n: (n.start, n.calendar_id, n.event_id))
    return found


def assess_upcoming(
    dump: CalendarDump,
    *,
    now: dt.datetime,
    prefs: NoveltyPrefs = NoveltyPrefs(),
    user_tz: str | None = None,
) -> list[tuple[EventFeatures, Assessment]]:
    """Every upcoming event the preferences let through, with its score and reasons.

    What :func:`analyze` thresholds; useful to explain why an event was *not* reported.
    """
    if not isinstance(prefs, NoveltyPrefs):
        raise InvalidInput("prefs", "expected NoveltyPrefs")
    validate(prefs)
    if not isinstance(now, dt.datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInput("now", "expected a timezone-aware datetime, e.g. 2025-06-18T06:00:00+02:00")
    try:
        until = now + dt.timedelta(days=prefs.lookahead_days)
        since = now - dt.timedelta(days=366)
    except OverflowError:
        raise InvalidInput("now", f"out of range: {now.isoformat()}") from None
    if since.year < MIN_YEAR or until.year > MAX_YEAR:
        raise InvalidInput("now", f"out of range: {now.isoformat()}")
    tz_name = user_tz if user_tz is not None else (dump.time_zone or "UTC")
    user_zone = zone(tz_name, field_name="user_tz" if user_tz is not None else "dump.timeZone")

    events = list(_features(dump, user_zone))
    index = HistoryIndex.build(events, now=now)
    upcoming = [f for f in events if now <= f.start < until]
    away = sorted(f.start for f in upcoming if f.zone_name)
    wanted = {c.id for c in dump.calendars if prefs.wants_calendar(str(c.id), str(c.summary or ""))}
    muted = MuteIndex.of(prefs.mutes)
    out = []
    for f in upcoming:
        if f.calendar_id not in wanted or (f.all_day and not prefs.include_all_day):
            continue
        if muted.hides(f.series_id, f.keys.full):
            continue
        if never_novel(f, include_declined=prefs.include_declined):
            continue
        out.append((f, assess(f, index, trip=_overlaps(f, away))))
    return out


def _features(dump: CalendarDump, user_zone: ZoneInfo) -> Iterator[EventFeatures]:
    """Features of every usable event outside mirror calendars, once per (calendar, id)."""
    seen: set[tuple[str, str]] = set()
    for cal in dump.calendars:
        if not isinstance(cal.id, str) or is_mirror_calendar(cal.id):
            continue
        cal_zone = _calendar_zone(cal.time_zone, user_zone)
        for item in cal.items if isinstance(cal.items, list) else ():
            if not isinstance(item, dict):
                continue
            try:
                f = extract(cal.id, item, user_zone, cal_zone)
            except _BAD_EVENT:
                continue
            if f is None or (f.calendar_id, f.event_id) in seen:
                continue
            seen.add((f.calendar_id, f.event_id))
            yield f


def _calendar_zone(name: object, user_zone: ZoneInfo) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        return user_zone
    try:
        return zone(name)
    except InvalidInput:
        return user_zone


def _overlaps(f: EventFeatures, away: list[dt.datetime]) -> bool:
    """Whether a multi-day all-day event spans events set in another time zone (a trip)."""
    if not (f.all_day and f.end is not None and away):
        return False
    i = bisect_left(away, f.start)
    return i < len(away) and away[i] < f.end
