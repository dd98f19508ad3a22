"""Short human reasons, one concept each, in the order a reader wants them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

MAX_REASONS = 3

_TIMES = {1: "once", 2: "twice"}


def frequency(count: int) -> str:
    """How often something like this happened in the past year."""
    if count <= 0:
        return "first time in your calendar"
    times = _TIMES.get(count, f"{count} times")
    if count <= 3:
        return f"only {times} in the past year"
    return f"{times} in the past year"


def new_series(step: dt.timedelta | None, per_week: int = 1, *, again: bool = False) -> str:
    """The first instance of a series nobody has seen yet (or back after a long break)."""
    cadence = _cadence(step, per_week)
    return f"{cadence} series starts again" if again else f"new {cadence} series starts"


def _cadence(step: dt.timedelta | None, per_week: int) -> str:
    if step is None:
        return "recurring"
    days = step.total_seconds() / 86400
    if 0.9 <= days <= 1.1 and per_week >= 5:
        return "daily"
    if 2 <= per_week <= 4:
        return "twice-weekly" if per_week == 2 else f"{per_week}-times-a-week"
    if 6.5 <= days <= 7.5:
        return "weekly"
    if 13.5 <= days <= 14.5:
        return "fortnightly"
    if 27.5 <= days <= 31.5:
        return "monthly"
    if 360 <= days <= 367:
        return "yearly"
    return "recurring"


def abroad(zone_name: str, at: dt.datetime) -> str:
    """'in Lisbon time (UTC+1)': the event is set in another zone than the user's."""
    city = zone_name.rsplit("/", 1)[-1].replace("_", " ")
    offset = at.astimezone(ZoneInfo(zone_name)).utcoffset() or dt.timedelta(0)
    return f"in {city} time ({utc_offset(offset)})"


def utc_offset(offset: dt.timedelta) -> str:
    minutes = round(offset.total_seconds() / 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    if hours == 0 and rest == 0:
        return "UTC"
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def all_day(days: int) -> str:
    return f"all-day, {days} days" if days > 1 else "all day"


def new_people(emails: list[str]) -> str:
    first = emails[0]
    others = len(emails) - 1
    if others <= 0:
        return f"first meeting with {first}"
    return f"first meeting with {first} and {others} other{'s' if others > 1 else ''}"
