"""The novelty rules: one upcoming event + the history index -> a score and reasons.

In order:

1. Series (``recurringEventId``): an instance of a series with an instance before now is routine,
   however it was moved, retitled or shifted by a foreign zone's DST. The first instance of a
   series nobody has seen yet is novel ("new weekly series starts"; "... starts again" after a
   break) unless the very same title was a habit until recently (a re-created series); the later
   instances of a new series are routine.
2. Frequency of the normalised title over the past year: never -> first time, 1-3 times -> rare,
   4+ times -> habit.
3. Routine despite a rare title: a habit whose topic rotates ("Book club: <book>", regular with no
   gap over ~11 weeks in the last 6 months, at about this time of day, topics recurring or one
   weekday); a variant title of a habit that stands in for it ("📞 Mom" for "Call Mom", the habit is
   not on that day too); a meeting with a group of people met regularly (same attendee set).
4. An event set in another time zone is travel, hence novel, when both the zone and this title in
   that zone are rare in the user's past (a remote team's zone is not travel).
5. Small boosts for events that are already novel: people never met before, multi-day all-day
   events (an "all-day trip" when events in another zone fall inside it).

Every signal moves the score in one direction as history grows, so adding a past occurrence never
makes an event more novel.
"""

from __future__ import annotations

from dataclasses import dataclass

from novel_events.novelty import reasons
from novel_events.novelty.features import EventFeatures
from novel_events.novelty.history import HABIT_COUNT, HistoryIndex

RARE_ZONE_COUNT = 3  # a title set in a zone at most this often: still travel
FAMILIAR_ZONE_COUNT = 24  # more past events than this in a zone: a zone the user lives with
SERIES_SEEN_SCORE = 0.0
SERIES_LATER_SCORE = 0.05
NEW_SERIES_SCORE = 0.8
LIKE_A_HABIT_SCORE = 0.3  # cap for rotating-topic habits and habits' variant titles
ABROAD_SCORE = 0.85
PEOPLE_BOOST = 0.05
MULTI_DAY_BOOST = 0.05
BOOSTABLE = 0.5
_BY_COUNT = (0.9, 0.75, 0.65, 0.55)


@dataclass(frozen=True, slots=True)
class Assessment:
    score: float
    reasons: tuple[str, ...]


def frequency_score(count: int) -> float:
    """Novelty of a title seen ``count`` times in the past year (strictly decreasing to a floor)."""
    if count < len(_BY_COUNT):
        return _BY_COUNT[max(count, 0)]
    return max(0.05, 0.45 - 0.05 * (count - HABIT_COUNT))


def assess(f: EventFeatures, idx: HistoryIndex, *, trip: bool = False) -> Assessment:
    """Score ``f`` (an event that is not filtered out) against the user's history."""
    if f.series_id:
        if idx.series_seen(f.series_id):
            return Assessment(SERIES_SEEN_SCORE, ("instance of a series you already have",))
        if not idx.is_series_first(f):
            return Assessment(SERIES_LATER_SCORE, ("later instance of a new series",))
        seen = idx.count_exact(f.keys.exact)
        step, per_week = idx.series_cadence(f.series_id)
        if seen >= HABIT_COUNT and idx.seen_recently(f.keys.exact):
            # the same title was going on until now: a re-created series or a habit made recurring
            score, why = min(NEW_SERIES_SCORE, frequency_score(seen)), [reasons.frequency(seen)]
        else:
            score = NEW_SERIES_SCORE
            why = [reasons.new_series(step, per_week, again=seen > 0)]
            if f.zone_name:
                why.append(reasons.abroad(f.zone_name, f.start))
    else:
        seen = idx.count(f)
        score = frequency_score(seen)
        why = [reasons.frequency(seen)]
        if score > LIKE_A_HABIT_SCORE:
            if idx.is_template_habit(f):
                score, why = LIKE_A_HABIT_SCORE, ["a regular event with a changing topic"]
            elif idx.habit_variant_of(f):
                score, why = LIKE_A_HABIT_SCORE, ["another title for one of your habits"]
            elif idx.is_group_habit(f):
                score, why = LIKE_A_HABIT_SCORE, ["a group you meet regularly"]
        if f.zone_name:
            travel = (
                idx.count_in_zone(f.keys.full, f.zone_name) <= RARE_ZONE_COUNT
                and idx.zone_total(f.zone_name) <= FAMILIAR_ZONE_COUNT
            )
            if travel and score < BOOSTABLE:
                why = []  # a routine title, but this time abroad: being abroad is the news
            if travel:
                score = max(score, ABROAD_SCORE)
            if travel or score >= BOOSTABLE:
                why.append(reasons.abroad(f.zone_name, f.start))
    if score >= BOOSTABLE:  # boosts rank novel events; they never make a habit novel
        if f.all_day and f.days > 1:
            score += MULTI_DAY_BOOST
            why.append("all-day trip" if trip else reasons.all_day(f.days))
        newcomers = idx.new_people(f)
        if newcomers:
            score += PEOPLE_BOOST
            why.append(reasons.new_people(newcomers))
    return Assessment(min(1.0, max(0.0, round(score, 3))), tuple(why[: reasons.MAX_REASONS]))
