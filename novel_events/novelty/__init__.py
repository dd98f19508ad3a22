"""Novelty detection: which upcoming calendar events break the user's routine.

Pure functions of a :class:`~novel_events.events.CalendarDump`, a point in time, the user's zone
and :class:`NoveltyPrefs`; no I/O. See ``docs/novelty.md`` for the rules.
"""

from novel_events.novelty.engine import analyze, assess_upcoming
from novel_events.novelty.mutes import MuteRule, rule_for_event
from novel_events.novelty.prefs import THRESHOLDS, NoveltyPrefs
from novel_events.novelty.rules import Assessment

__all__ = ["THRESHOLDS", "Assessment", "MuteRule", "NoveltyPrefs", "analyze", "assess_upcoming", "rule_for_event"]
