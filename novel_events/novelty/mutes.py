"""Mute rules: "Not new to me — hide events like this", chosen by a person from a digest.

A rule names a recurring series (its id) or a normalised title (:func:`title_keys` ``full`` key, so
"Dentist (me)" and "dentist" are one rule). The novelty engine drops upcoming events that match one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from novel_events.novelty.normalize import title_keys

SERIES = "series"
TITLE = "title"
KINDS = (SERIES, TITLE)
LABEL_MAX = 120


@dataclass(frozen=True, slots=True)
class MuteRule:
    """``kind`` is ``series`` or ``title``; ``value`` the series id or title key; ``label`` what the person saw."""

    kind: str
    value: str
    label: str = ""


def rule_for_event(event: Mapping[str, Any]) -> MuteRule | None:
    """The rule that hides ``event`` and the events like it: its series when it has one, else its title."""
    raw = event.get("summary")
    title = " ".join(raw.split())[:LABEL_MAX] if isinstance(raw, str) else ""
    series = event.get("recurringEventId")
    if isinstance(series, str) and series:
        return MuteRule(SERIES, series, title or "(no title)")
    if title:
        key = title_keys(title).full
        if key:
            return MuteRule(TITLE, key, title)
    return None


@dataclass(frozen=True, slots=True)
class MuteIndex:
    series: frozenset[str]
    titles: frozenset[str]

    @classmethod
    def of(cls, rules: Iterable[MuteRule]) -> MuteIndex:
        rules = list(rules)
        return cls(
            frozenset(r.value for r in rules if r.kind == SERIES), frozenset(r.value for r in rules if r.kind == TITLE)
        )

    def hides(self, series_id: str | None, title_key: str) -> bool:
        """Whether an event of ``series_id`` whose title has ``title_key`` (``TitleKeys.full``) is muted."""
        return bool(series_id and series_id in self.series) or title_key in self.titles
