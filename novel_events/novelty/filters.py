"""What is never novel, whatever its history: the calendar or the event says so.

* calendars that only mirror the world: public holidays (``#holiday@``), contacts' birthdays
  (``#contacts@``), week numbers (``#weeknum@``);
* status ``cancelled``;
* event types that describe the user's state, not an occasion: ``outOfOffice``, ``focusTime``,
  ``workingLocation``, ``birthday``;
* events the user declined (unless the preferences ask for them).
"""

from __future__ import annotations

from novel_events.novelty.features import EventFeatures

_MIRROR_CALENDAR_MARKERS = ("#holiday@", "#contacts@", "#weeknum@")
STATE_EVENT_TYPES = frozenset({"outOfOffice", "focusTime", "workingLocation", "birthday"})


def is_mirror_calendar(calendar_id: str) -> bool:
    """A holiday / birthdays / week-number calendar: never novel, never history."""
    cid = calendar_id.lower()
    return any(marker in cid for marker in _MIRROR_CALENDAR_MARKERS)


def counts_as_history(f: EventFeatures) -> bool:
    """Whether a past event tells us something about the user's routine.

    Declined events still count: the occasion exists in the user's life even if they skipped it.
    """
    return f.status != "cancelled" and f.event_type not in STATE_EVENT_TYPES


def never_novel(f: EventFeatures, *, include_declined: bool) -> str | None:
    """Why ``f`` can never be novel, or ``None`` if the rules should look at it."""
    if f.status == "cancelled":
        return "cancelled"
    if f.event_type in STATE_EVENT_TYPES:
        return f.event_type
    if f.declined and not include_declined:
        return "declined"
    return None
