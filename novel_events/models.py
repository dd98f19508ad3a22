"""A user and their digest preferences, validated."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from novel_events.errors import InvalidInput
from novel_events.schedules import Schedule

USER_ID = re.compile(r"[a-z0-9_-]{1,64}")  # always fullmatch: '$' would let a trailing newline through
EMAIL = re.compile(r"[^@\s<>(),;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
SENSITIVITIES = ("low", "normal", "high")
LOOKAHEAD_RANGE = (1, 60)
MAX_SOURCE = 2048
MAX_CALENDARS = 50  # include/exclude entries per list
MAX_CALENDAR_NAME = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def shown(value: object, limit: int = 64) -> str:
    """``value`` quoted for an error message, shortened when long (never echo a 5,000-character input)."""
    text = str(value)
    return repr(text) if len(text) <= limit else f"{text[:40]!r}… ({len(text)} characters)"


def has_control(value: str) -> bool:
    return bool(_CONTROL.search(value))


def check_user_id(value: str) -> str:
    if not isinstance(value, str) or not USER_ID.fullmatch(value):
        raise InvalidInput("ID", f"{shown(value)} is not a user id; use 1-64 characters of a-z, 0-9, '_' and '-'")
    return value


def check_email(value: str) -> str:
    v = value.strip(" ") if isinstance(value, str) else ""
    if len(v) > 254 or has_control(v) or not EMAIL.fullmatch(v):
        raise InvalidInput("--email", f"{shown(value)} is not an email address like name@example.com")
    return v


def check_source(value: str) -> str:
    v = value.strip(" ") if isinstance(value, str) else ""
    if v == "google":
        return v
    if v.startswith("ics:") and len(v) > 4 and len(v) <= MAX_SOURCE and not has_control(v):
        return v
    what = "this ics: source" if v.startswith("ics:") else shown(value)  # a feed URL may be a credential
    raise InvalidInput(
        "--source",
        f"{what} is not accepted; use google or ics:URL_OR_PATH "
        f"(at most {MAX_SOURCE} characters, no control characters)",
    )


def check_calendars(values: tuple[str, ...] | list[str], field: str = "--include-calendar") -> tuple[str, ...]:
    """Calendar names or ids: at most 50, each 1-256 characters without control characters."""
    items = tuple(values)
    if len(items) > MAX_CALENDARS:
        raise InvalidInput(field, f"{len(items)} calendars given; use at most {MAX_CALENDARS}")
    for item in items:
        if not isinstance(item, str) or not item.strip() or len(item) > MAX_CALENDAR_NAME or has_control(item):
            raise InvalidInput(
                field,
                f"{shown(item)} is not a calendar name or id; use 1-{MAX_CALENDAR_NAME} "
                "characters without control characters",
            )
    return items


def check_lookahead(value: int) -> int:
    lo, hi = LOOKAHEAD_RANGE
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise InvalidInput("--lookahead-days", f"{value!r} is out of range; use a whole number {lo}-{hi}")
    return value


def check_sensitivity(value: str) -> str:
    if value not in SENSITIVITIES:
        raise InvalidInput("--sensitivity", f"{value!r} is not one of {', '.join(SENSITIVITIES)}")
    return value


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    schedule: Schedule
    source: str = "google"
    lookahead_days: int = 14
    include_calendars: tuple[str, ...] = ()
    exclude_calendars: tuple[str, ...] = ()
    enabled: bool = True
    sensitivity: str = "normal"
    include_all_day: bool = True
    include_declined: bool = False
    send_when_empty: bool = False
    needs_reconnect: bool = False

    def __post_init__(self) -> None:
        check_user_id(self.id)
        check_email(self.email)
        check_source(self.source)
        check_calendars(self.include_calendars, "--include-calendar")
        check_calendars(self.exclude_calendars, "--exclude-calendar")
        check_lookahead(self.lookahead_days)
        check_sensitivity(self.sensitivity)

    @property
    def timezone(self) -> str:
        return self.schedule.timezone

    def with_changes(self, **changes: Any) -> User:
        return replace(self, **changes)
