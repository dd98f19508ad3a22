"""What the rules look at in one Calendar API event, read defensively.

Calendars hand over all sorts of odd dicts (missing starts, non-string titles, attendee lists that
are not lists). :func:`extract` returns ``None`` for anything it cannot place in time and never
raises for a malformed event; everything downstream works on :class:`EventFeatures` only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from novel_events.errors import InvalidInput
from novel_events.events import Event, event_end, event_start, zone
from novel_events.novelty.normalize import TitleKeys, title_keys

# Events outside these years are skipped (date arithmetic near year 1 or 9999 overflows).
MIN_YEAR, MAX_YEAR = 1000, 9000
_CALENDAR_DOMAIN = "calendar.google.com"  # rooms, group calendars, "unknownorganizer@"
# Zone names that say nothing about where a person is.
_PLACELESS_ZONES = ("UTC", "GMT", "Etc/", "Universal", "Zulu")


@dataclass(frozen=True, slots=True)
class EventFeatures:
    calendar_id: str
    event_id: str
    event: Event
    start: dt.datetime  # aware; all-day events start at local midnight in the user's zone
    end: dt.datetime | None  # only read for all-day events (None for timed ones)
    all_day: bool
    title: str
    keys: TitleKeys
    series_id: str | None
    status: str
    event_type: str
    declined: bool
    people: frozenset[str]  # attendee/organiser e-mails other than the user
    zone_name: str | None  # the event's own IANA zone when it is not the user's zone
    local_day: dt.date  # in the user's zone
    minute: int  # local time of day in the user's zone, 0..1439

    @property
    def days(self) -> int:
        """Length of an all-day event in days (1 for timed events)."""
        if not self.all_day or self.end is None:
            return 1
        return max(1, round((self.end - self.start).total_seconds() / 86400))


def extract(
    calendar_id: str, event: Mapping[str, Any], user_zone: ZoneInfo, calendar_zone: ZoneInfo
) -> EventFeatures | None:
    """The features of ``event`` or ``None`` if it has no usable id or start."""
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        return None
    ev: Event = event if isinstance(event, dict) else dict(event)
    status = _text(ev.get("status")) or "confirmed"
    when = _start(ev, user_zone, calendar_zone)
    if when is None:
        return None
    start, all_day = when
    if not MIN_YEAR <= start.year <= MAX_YEAR:
        return None
    local = start.astimezone(user_zone)
    end = _end(ev, user_zone, calendar_zone, start, all_day) if all_day else None
    title = _text(ev.get("summary"))
    people, declined = _people(ev, calendar_id)
    return EventFeatures(
        calendar_id=calendar_id,
        event_id=event_id,
        event=ev,
        start=start,
        end=end,
        all_day=all_day,
        title=title,
        keys=title_keys(title),
        series_id=_text(ev.get("recurringEventId")) or None,
        status=status.lower(),
        event_type=_text(ev.get("eventType")) or "default",
        declined=declined,
        people=people,
        zone_name=None if all_day else _foreign_zone(ev.get("start"), user_zone, calendar_zone),
        local_day=local.date(),
        minute=local.hour * 60 + local.minute,
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _email(person: Any) -> str | None:
    if isinstance(person, dict) and not person.get("self"):
        email = person.get("email")
        if isinstance(email, str) and "@" in email:
            return email.strip().lower()
    return None


def _is_person(email: str) -> bool:
    """Not a room, a group calendar or Google's placeholder organiser."""
    return not email.endswith(_CALENDAR_DOMAIN)


def _people(ev: Event, calendar_id: str) -> tuple[frozenset[str], bool]:
    """(other people's e-mails, whether the user declined).

    The user is the attendee marked ``self`` (or, failing that, the one whose e-mail is the
    calendar's id, as on a primary calendar).
    """
    own = calendar_id.strip().lower()
    people: set[str] = set()
    declined = False
    attendees = ev.get("attendees")
    if isinstance(attendees, list):
        for a in attendees:
            if not isinstance(a, dict):
                continue
            email = _email(a)
            if a.get("self") or email == own:
                declined = declined or a.get("responseStatus") == "declined"
                continue
            if email and not a.get("resource") and _is_person(email):
                people.add(email)
    organizer = _email(ev.get("organizer"))
    if organizer and organizer != own and _is_person(organizer):
        people.add(organizer)
    return frozenset(people), declined


def _start(ev: Event, user_zone: ZoneInfo, calendar_zone: ZoneInfo) -> tuple[dt.datetime, bool] | None:
    raw = ev.get("start")
    if not isinstance(raw, dict):
        return None
    naive = _naive_local(raw, user_zone, calendar_zone)
    if naive is not None:
        return naive, False
    try:
        return event_start(ev, user_zone)
    except (ValueError, TypeError, OverflowError):
        return None


def _end(
    ev: Event, user_zone: ZoneInfo, calendar_zone: ZoneInfo, start: dt.datetime, all_day: bool
) -> dt.datetime | None:
    raw = ev.get("end")
    if not isinstance(raw, dict):
        return None
    try:
        naive = _naive_local(raw, user_zone, calendar_zone)
        found = (naive, False) if naive is not None else event_end(ev, user_zone)
    except (ValueError, TypeError, OverflowError):
        return None
    if found is None or found[1] != all_day or found[0] < start:
        return None
    return found[0]


def _naive_local(raw: Mapping[str, Any], user_zone: ZoneInfo, calendar_zone: ZoneInfo) -> dt.datetime | None:
    """A ``dateTime`` without offset means wall time in the event's (or calendar's) zone, not UTC."""
    value = raw.get("dateTime")
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return None
    own = _zone_or_none(raw.get("timeZone"))
    return parsed.replace(tzinfo=own or calendar_zone or user_zone)


def _zone_or_none(name: Any) -> ZoneInfo | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return zone(name)
    except InvalidInput:
        return None


def _foreign_zone(raw: Any, user_zone: ZoneInfo, calendar_zone: ZoneInfo) -> str | None:
    """The event's own zone name if it names a place other than the user's zone.

    A calendar kept in another zone (a relative's shared calendar) sets all its events in that
    zone: that is the calendar's convention, not travel.
    """
    if not isinstance(raw, dict):
        return None
    name = raw.get("timeZone")
    if not isinstance(name, str) or not name or name in (user_zone.key, calendar_zone.key):
        return None
    if name.startswith(_PLACELESS_ZONES):
        return None
    if _zone_or_none(name) is None:
        return None
    return name
