"""Settings from a form or the API, validated exactly as the CLI validates them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from novel_events.errors import InvalidInput
from novel_events.models import User, check_email, check_lookahead, check_sensitivity, check_source, check_user_id
from novel_events.schedules import Schedule

# The CLI names fields by option; the API and the forms by the option's JSON name.
API_NAMES = {
    "ID": "id",
    "--email": "email",
    "--timezone": "timezone",
    "--schedule": "schedule",
    "--at": "at",
    "--day": "day",
    "--source": "source",
    "--lookahead-days": "lookahead_days",
    "--sensitivity": "sensitivity",
}


def api_field(field: str) -> str:
    return API_NAMES.get(field, field.lstrip("-").replace("-", "_"))


def check_source_value(value: str) -> str:
    """As ``users add --source``: google, or an ics source the feed policy accepts (ICS_ROOT, public URL)."""
    from novel_events.settings import load_settings
    from novel_events.sources.feeds import FeedPolicy, check_feed_source

    src = check_source(value)
    if src.startswith("ics:"):
        src = check_feed_source(src, FeedPolicy.from_settings(load_settings()))
    return src


def _lookahead(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return check_lookahead(value)


def _names(values: Iterable[Any] | None, field: str) -> tuple[str, ...]:
    out = []
    for v in values or ():
        if not isinstance(v, str) or not v.strip() or len(v) > 1024:
            raise InvalidInput(field, "expected calendar ids or names")
        out.append(v.strip())
    return tuple(out)


def build_user(
    user_id: str,
    *,
    email: str,
    timezone: str,
    schedule: str,
    at: str,
    day: str | None = None,
    source: str = "google",
    lookahead_days: Any = 14,
    sensitivity: str = "normal",
    enabled: bool = True,
    send_when_empty: bool = False,
    include_calendars: Iterable[str] | None = None,
    exclude_calendars: Iterable[str] | None = None,
    base: User | None = None,
) -> User:
    """A validated :class:`User`; raises InvalidInput naming the first bad field (CLI names)."""
    check_user_id(user_id)
    sched = Schedule.parse(schedule, at, timezone, day or None)
    values: dict[str, Any] = {
        "email": check_email(email),
        "schedule": sched,
        "source": check_source_value(source),
        "lookahead_days": _lookahead(lookahead_days),
        "sensitivity": check_sensitivity(sensitivity),
        "enabled": bool(enabled),
        "send_when_empty": bool(send_when_empty),
        "include_calendars": _names(include_calendars, "include_calendars"),
        "exclude_calendars": _names(exclude_calendars, "exclude_calendars"),
    }
    if base is not None:
        return base.with_changes(**values)
    return User(id=user_id, **values)
