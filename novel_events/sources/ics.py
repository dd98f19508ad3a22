"""iCal (RFC 5545) feeds as a calendar source.

:func:`parse_ics` is pure: bytes in, a :class:`CalendarDump` out, recurring events expanded into
instances that look like Calendar API ``events.list(singleEvents=true)`` items (instances of a
series carry ``recurringEventId``). :func:`read_calendar` also returns what was skipped (the work is
in ``ics_split`` -> ``ics_parse`` -> ``ics_rules``/``ics_expand`` -> ``ics_calendar``).
:func:`novel_events.sources.feeds.read_feed` does the I/O (a file under ``ICS_ROOT`` or a guarded URL).
"""

from __future__ import annotations

import datetime as dt

from novel_events.events import CalendarDump
from novel_events.sources.ics_calendar import IcsResult, read_calendar
from novel_events.sources.ics_expand import MAX_INSTANCES
from novel_events.sources.ics_parse import Problem

__all__ = ["MAX_INSTANCES", "IcsResult", "Problem", "parse_ics", "read_calendar"]


def parse_ics(
    data: bytes,
    *,
    start: dt.datetime,
    end: dt.datetime,
    user_tz: str,
    calendar_id: str = "ics",
) -> CalendarDump:
    """Expand the feed's events that overlap [start, end) into instances (see :func:`read_calendar`,
    which also says what was skipped)."""
    return read_calendar(data, start=start, end=end, user_tz=user_tz, calendar_id=calendar_id).dump
