"""A user and their digest preferences, validated."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from novel_events.errors import InvalidInput
from novel_events.schedules import Schedule

USER_ID = re.compile(r"^[a-z0-9_-]{1,64}$")
EMAIL = re.compile(r"^[^@\s<>(),;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
SENSITIVITIES = ("low", "normal", "high")
LOOKAHEAD_RANGE = (1, 60)


def check_user_id(value: str) -> str:
    if not isinstance(value, str) or not USER_ID.match(value) or "@" in value:
        raise InvalidInput("ID", f"{value!r} is not a user id; use 1-64 characters of a-z, 0-9, '_' and '-'")
    return value


def check_email(value: str) -> str:
    v = value.strip() if isinstance(value, str) else ""
    if not EMAIL.match(v) or len(v) > 254:
        raise InvalidInput("--email", f"{value!r} is not an email address like name@example.com")
    return v


def check_source(value: str) -> str:
    v = value.strip()
    if v == "google":
        return v
    if v.startswith("ics:") and len(v) > 4:
        return v
    raise InvalidInput("--source", f"{value!r} is not accepted; use google or ics:URL_OR_PATH")


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
        check_lookahead(self.lookahead_days)
        check_sensitivity(self.sensitivity)

    @property
    def timezone(self) -> str:
        return self.schedule.timezone

    def with_changes(self, **changes: Any) -> User:
        return replace(self, **changes)
