"""An index of the user's past: how often something like an event happened before.

Built once per analysis in one pass over the events (hash maps keyed by normalised title, series,
zone and person), so every question the rules ask is answered in O(1) or O(log n): analysis stays
near-linear in the size of the calendar, with no comparison of event pairs.

Every count only grows when past events are added, which is what makes the rules monotone:
more history never makes an event look more novel.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from novel_events.novelty.features import EventFeatures
from novel_events.novelty.filters import counts_as_history
from novel_events.novelty.variants import Vocabulary

HISTORY = dt.timedelta(days=365)
HABIT_COUNT = 4  # seen this many times in a year: a habit, not a rare event
RECENT = dt.timedelta(days=45)  # a title seen this recently is still going on
# A habit whose topic rotates ("Book club: <book>") shows up at least every TEMPLATE_MAX_GAP over
# the last TEMPLATE_SPAN, TEMPLATE_MIN_SIMILAR times near the same time of day, and either a topic
# came back or TEMPLATE_MIN_SAME_WEEKDAY of them fell on one weekday at that time.
TEMPLATE_SPAN = dt.timedelta(days=183)
TEMPLATE_MAX_GAP = dt.timedelta(days=75)
TEMPLATE_MIN_COUNT = 4
TEMPLATE_MIN_SIMILAR = 3
TEMPLATE_MIN_SAME_WEEKDAY = 4
SAME_TIME_MINUTES = 60
VARIANT_TIME_MINUTES = 120  # a habit under another title may also move a bit
MIN_GROUP = 2  # other people in a meeting for its attendee set to identify a habit


@dataclass(frozen=True, slots=True)
class _Occurrence:
    start: dt.datetime
    minute: int  # local time of day
    weekday: int  # local
    tail: str


@dataclass(slots=True)
class _Series:
    first: dt.datetime
    first_ids: set[tuple[str, str]] = field(default_factory=set)
    starts: list[dt.datetime] = field(default_factory=list)
    seen_before_now: bool = False


@dataclass(slots=True)
class HistoryIndex:
    """Past occurrences of the user's events, indexed by what the rules ask about."""

    now: dt.datetime
    by_full: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_exact: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_full_zone: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    by_zone: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    minutes: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    words: dict[str, frozenset[str]] = field(default_factory=dict)
    latest_exact: dict[str, dt.datetime] = field(default_factory=dict)
    upcoming_days: dict[str, set[dt.date]] = field(default_factory=lambda: defaultdict(set))
    groups: dict[frozenset[str], list[int]] = field(default_factory=lambda: defaultdict(list))
    upcoming_group_days: Counter[tuple[frozenset[str], dt.date]] = field(default_factory=Counter)
    vocabulary: Vocabulary = field(default_factory=lambda: Vocabulary(()))
    templates: dict[str, list[_Occurrence]] = field(default_factory=lambda: defaultdict(list))
    people: set[str] = field(default_factory=set)
    series: dict[str, _Series] = field(default_factory=dict)

    @classmethod
    def build(cls, events: Iterable[EventFeatures], *, now: dt.datetime) -> HistoryIndex:
        idx = cls(now=now)
        since = now - HISTORY
        for f in events:
            if not counts_as_history(f):
                continue
            if f.series_id:
                idx._add_series(f)
            group = len(f.people) >= MIN_GROUP and not f.series_id
            if f.start >= now:
                idx.upcoming_days[f.keys.full].add(f.local_day)
                if group:
                    idx.upcoming_group_days[(f.people, f.local_day)] += 1
                continue
            if f.start < since:
                continue
            idx.by_full[f.keys.full] += 1
            idx.by_exact[f.keys.exact] += 1
            idx.minutes[f.keys.full].append(f.minute)
            words = idx.words.get(f.keys.full)
            if words is None or sorted(f.keys.words) < sorted(words):  # independent of event order
                idx.words[f.keys.full] = f.keys.words
            latest = idx.latest_exact.get(f.keys.exact)
            if latest is None or f.start > latest:
                idx.latest_exact[f.keys.exact] = f.start
            if f.zone_name:
                idx.by_full_zone[(f.keys.full, f.zone_name)] += 1
                idx.by_zone[f.zone_name] += 1
            idx.people.update(f.people)
            if group:
                idx.groups[f.people].append(f.minute)
            if f.keys.head and f.keys.tail and not f.series_id:
                idx.templates[f.keys.head].append(_Occurrence(f.start, f.minute, f.local_day.weekday(), f.keys.tail))
        for occurrences in idx.templates.values():
            occurrences.sort(key=lambda o: o.start)
        for s in idx.series.values():
            s.starts.sort()
        idx.vocabulary = Vocabulary((k, w) for k, w in idx.words.items() if idx.by_full[k] >= HABIT_COUNT)
        return idx

    def _add_series(self, f: EventFeatures) -> None:
        assert f.series_id is not None
        s = self.series.get(f.series_id)
        ident = (f.calendar_id, f.event_id)
        if s is None:
            s = self.series[f.series_id] = _Series(first=f.start, first_ids={ident})
        elif f.start < s.first:
            s.first, s.first_ids = f.start, {ident}
        elif f.start == s.first:
            s.first_ids.add(ident)
        s.starts.append(f.start)
        if f.start < self.now:
            s.seen_before_now = True

    # --- questions the rules ask -------------------------------------------------------------

    def count(self, f: EventFeatures) -> int:
        """Past occurrences (last 365 days) of events titled like ``f``.

        "Gym w/ Sam" counts earlier "Gym w/ Sam" and plain "Gym", not "Gym w/ Alex": a habit done
        with someone is still the habit, but outings with different people are different outings.
        """
        n = self.by_full.get(f.keys.full, 0)
        if f.keys.activity:
            n += self.by_full.get(f.keys.activity, 0)
        return n

    def count_exact(self, exact_key: str) -> int:
        return self.by_exact.get(exact_key, 0)

    def seen_recently(self, exact_key: str) -> bool:
        """Whether this exact title occurred within RECENT before now."""
        latest = self.latest_exact.get(exact_key)
        return latest is not None and self.now - latest <= RECENT

    def habit_variant_of(self, f: EventFeatures) -> str | None:
        """The habit ``f`` stands in for, if its title is a variant of a habit's title.

        The habit must have occurred at least twice within VARIANT_TIME_MINUTES of ``f``'s local
        time of day, and must not itself be on ``f``'s (local) day among the upcoming events: a
        special edition next to the regular one ("Bridge club – holiday luncheon" an hour before
        "Bridge club") is not the habit.
        """
        day = f.local_day
        minute = f.minute
        for key in self.vocabulary.related_habits(f.keys.words):
            if key == f.keys.full or day in self.upcoming_days.get(key, ()):
                continue
            times = self.minutes.get(key, ())
            if sum(1 for m in times if _minutes_apart(m, minute) <= VARIANT_TIME_MINUTES) >= 2:
                return key
        return None

    def is_group_habit(self, f: EventFeatures) -> bool:
        """A meeting of a group the user meets regularly without a series, whatever its title.

        The same set of (at least MIN_GROUP) other people met in HABIT_COUNT past non-series
        events, twice near this local time of day, and the group has no other meeting that day
        (which would make this one a special occasion next to the regular one).
        """
        if len(f.people) < MIN_GROUP or f.series_id:
            return False
        minutes = self.groups.get(f.people, ())
        if len(minutes) < HABIT_COUNT:
            return False
        if self.upcoming_group_days[(f.people, f.local_day)] > 1:
            return False
        return sum(1 for m in minutes if _minutes_apart(m, f.minute) <= SAME_TIME_MINUTES) >= 2

    def count_in_zone(self, full_key: str, zone_name: str) -> int:
        """Past events titled like this set in ``zone_name``."""
        return self.by_full_zone.get((full_key, zone_name), 0)

    def zone_total(self, zone_name: str) -> int:
        """Past events (any title) set in ``zone_name``."""
        return self.by_zone.get(zone_name, 0)

    def series_seen(self, series_id: str) -> bool:
        """Whether an instance of the series started before now."""
        s = self.series.get(series_id)
        return bool(s and s.seen_before_now)

    def is_series_first(self, f: EventFeatures) -> bool:
        """Whether ``f`` is the first instance of its series the user will see."""
        s = self.series.get(f.series_id or "")
        return s is None or (f.calendar_id, f.event_id) in s.first_ids or f.start < s.first

    def series_cadence(self, series_id: str) -> tuple[dt.timedelta | None, int]:
        """(gap between the first two instances, instances in the series' first week)."""
        s = self.series.get(series_id)
        if s is None:
            return None, 0
        i = bisect_right(s.starts, s.first)
        step = s.starts[i] - s.first if i < len(s.starts) else None
        first_week = bisect_left(s.starts, s.first + dt.timedelta(days=7)) - bisect_left(s.starts, s.first)
        return step, first_week

    def new_people(self, f: EventFeatures) -> list[str]:
        return sorted(p for p in f.people if p not in self.people)

    def is_template_habit(self, f: EventFeatures) -> bool:
        """A regular activity with a rotating topic, e.g. a monthly "Book club: <book>".

        Events with the same head title (and some tail), not part of a series, must have come
        at least TEMPLATE_MIN_COUNT times over the last TEMPLATE_SPAN with no gap (edges included)
        above TEMPLATE_MAX_GAP, TEMPLATE_MIN_SIMILAR of them near this event's local time of day
        and in the same part of the week (working days or weekend);
        and either some topic came back during the year or TEMPLATE_MIN_SAME_WEEKDAY of them fell
        on one weekday at that time. One-offs made from a pattern ("Vendor demo: <vendor>") have
        neither. Every condition only gets truer as past events are added.
        """
        head = f.keys.head
        if not head or not f.keys.tail:
            return False
        occurrences = self.templates.get(head, [])
        span_start = self.now - TEMPLATE_SPAN
        recent = [o for o in occurrences if o.start >= span_start]
        if len(recent) < TEMPLATE_MIN_COUNT:
            return False
        previous = span_start
        for o in recent:
            if o.start - previous > TEMPLATE_MAX_GAP:
                return False
            previous = o.start
        if self.now - previous > TEMPLATE_MAX_GAP:
            return False
        minute, weekend = f.minute, _is_weekend(f.local_day.weekday())
        similar = [
            o
            for o in recent
            if _minutes_apart(o.minute, minute) <= SAME_TIME_MINUTES and _is_weekend(o.weekday) == weekend
        ]
        if len(similar) < TEMPLATE_MIN_SIMILAR:
            return False
        tails = [o.tail for o in occurrences]
        if len(set(tails)) < len(tails):
            return True
        per_weekday = Counter(o.weekday for o in similar)
        return max(per_weekday.values()) >= TEMPLATE_MIN_SAME_WEEKDAY


def _is_weekend(weekday: int) -> bool:
    return weekday >= 5


def _minutes_apart(a: int, b: int) -> int:
    d = abs(a - b) % 1440
    return min(d, 1440 - d)
