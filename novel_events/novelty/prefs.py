"""A user's novelty preferences, validated on construction."""

from __future__ import annotations

from dataclasses import dataclass

from novel_events.errors import InvalidInput
from novel_events.novelty.mutes import KINDS, MuteRule

MIN_LOOKAHEAD_DAYS = 1
MAX_LOOKAHEAD_DAYS = 60
# Minimum score an event needs to be reported, per sensitivity.
THRESHOLDS: dict[str, float] = {"low": 0.7, "normal": 0.5, "high": 0.35}


@dataclass(frozen=True)
class NoveltyPrefs:
    """What to look at and how eagerly to call something novel.

    ``include_calendars`` / ``exclude_calendars`` name calendars by id or by summary (display
    name), case-insensitively; an empty ``include_calendars`` means every calendar.
    """

    lookahead_days: int = 14
    sensitivity: str = "normal"
    include_calendars: tuple[str, ...] = ()
    exclude_calendars: tuple[str, ...] = ()
    include_all_day: bool = True
    include_declined: bool = False
    mutes: tuple[MuteRule, ...] = ()  # "hide events like this" rules the person chose

    def __post_init__(self) -> None:
        validate(self)

    @property
    def threshold(self) -> float:
        return THRESHOLDS[self.sensitivity]

    def wants_calendar(self, calendar_id: str, summary: str) -> bool:
        names = {calendar_id.casefold(), summary.casefold()}
        if self.include_calendars and not names & {n.casefold() for n in self.include_calendars}:
            return False
        return not names & {n.casefold() for n in self.exclude_calendars}


def validate(prefs: NoveltyPrefs) -> None:
    """Raise :class:`InvalidInput` naming the first unacceptable field."""
    days = prefs.lookahead_days
    if isinstance(days, bool) or not isinstance(days, int) or not (MIN_LOOKAHEAD_DAYS <= days <= MAX_LOOKAHEAD_DAYS):
        raise InvalidInput(
            "lookahead_days",
            f"expected a whole number from {MIN_LOOKAHEAD_DAYS} to {MAX_LOOKAHEAD_DAYS}, got {days!r}",
        )
    if prefs.sensitivity not in THRESHOLDS:
        raise InvalidInput("sensitivity", f"expected one of {', '.join(THRESHOLDS)}, got {prefs.sensitivity!r}")
    for name in ("include_calendars", "exclude_calendars"):
        value = getattr(prefs, name)
        if not isinstance(value, tuple) or not all(isinstance(v, str) and v.strip() for v in value):
            raise InvalidInput(name, f"expected a tuple of calendar ids or names, got {value!r}")
    if not isinstance(prefs.mutes, tuple) or not all(
        isinstance(m, MuteRule) and m.kind in KINDS and m.value for m in prefs.mutes
    ):
        raise InvalidInput("mutes", f"expected a tuple of MuteRule(kind in {'/'.join(KINDS)}, value)")
    for name in ("include_all_day", "include_declined"):
        if not isinstance(getattr(prefs, name), bool):
            raise InvalidInput(name, f"expected true or false, got {getattr(prefs, name)!r}")
