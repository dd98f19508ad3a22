"""A user's digest schedule: validation, the cron + time zone Prefect runs, and next fire times.

DST policy (identical to what Prefect's cron scheduler does, and tested against it):
- a local time that does not exist on a spring-forward day fires once, shifted forward by the gap
  (02:30 in America/New_York on the spring-forward day goes out at 03:30 EDT);
- a local time that happens twice on a fall-back day fires once, at its first occurrence.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from novel_events.errors import InvalidInput
from novel_events.events import zone


class Cadence(StrEnum):
    DAILY = "daily"
    WEEKDAYS = "weekdays"
    WEEKENDS = "weekends"
    WEEKLY = "weekly"


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CRON_DOW = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 0}
_AT = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class Schedule:
    cadence: Cadence
    at: dt.time
    timezone: str
    day: str | None = None

    @classmethod
    def parse(cls, cadence: str, at: str, timezone: str, day: str | None = None) -> Schedule:
        """Validate raw CLI/store values; raises InvalidInput naming the bad field."""
        try:
            cad = Cadence(cadence.strip().lower())
        except ValueError:
            raise InvalidInput(
                "--schedule", f"{cadence!r} is not one of {', '.join(c.value for c in Cadence)}"
            ) from None
        at_time = parse_at(at)
        zone(timezone, field_name="--timezone")
        if cad is Cadence.WEEKLY:
            if day is None:
                raise InvalidInput("--day", f"weekly needs --day, one of {'|'.join(DAYS)}")
            d = day.strip().lower()[:3]
            if d not in DAYS or day.strip().lower() not in {d, _full(d)}:
                raise InvalidInput("--day", f"{day!r} is not one of {'|'.join(DAYS)}")
            day = d
        elif day is not None:
            raise InvalidInput("--day", f"only goes with --schedule weekly, not {cad.value}")
        return cls(cadence=cad, at=at_time, timezone=timezone, day=day)

    @property
    def cron(self) -> str:
        """Five-field cron, read in :attr:`timezone`."""
        dow = {
            Cadence.DAILY: "*",
            Cadence.WEEKDAYS: "1-5",
            Cadence.WEEKENDS: "0,6",
            Cadence.WEEKLY: str(_CRON_DOW[self.day or "mon"]),
        }[self.cadence]
        return f"{self.at.minute} {self.at.hour} * * {dow}"

    def fires_on(self, day: dt.date) -> bool:
        wd = day.weekday()  # mon=0
        if self.cadence is Cadence.DAILY:
            return True
        if self.cadence is Cadence.WEEKDAYS:
            return wd < 5
        if self.cadence is Cadence.WEEKENDS:
            return wd >= 5
        return DAYS[wd] == self.day

    def next_times(self, after: dt.datetime, n: int = 1) -> list[dt.datetime]:
        """The next ``n`` fire times strictly after ``after`` (aware), in the user's zone."""
        out: list[dt.datetime] = []
        for t in self._iter_from(after):
            out.append(t)
            if len(out) >= n:
                break
        return out

    def _iter_from(self, after: dt.datetime) -> Iterator[dt.datetime]:
        if after.tzinfo is None:
            raise ValueError("after must be timezone-aware")
        tz = zone(self.timezone)
        day = after.astimezone(tz).date() - dt.timedelta(days=1)
        for _ in range(3700):
            if self.fires_on(day):
                # fold=0: a skipped wall time resolves with the pre-transition offset (i.e. shifted
                # forward by the gap); an ambiguous one resolves to its first occurrence.
                local = dt.datetime.combine(day, self.at, tzinfo=tz)
                fire = local.astimezone(dt.UTC).astimezone(tz)
                if fire > after:
                    yield fire
            day += dt.timedelta(days=1)

    def describe(self) -> str:
        when = self.at.strftime("%H:%M")
        if self.cadence is Cadence.WEEKLY:
            return f"weekly on {_full(self.day or 'mon').capitalize()} at {when} {self.timezone}"
        return f"{self.cadence.value} at {when} {self.timezone}"


def parse_at(value: str) -> dt.time:
    m = _AT.match(value.strip()) if isinstance(value, str) else None
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise InvalidInput("--at", f"{value!r} is not a time of day; use HH:MM from 00:00 to 23:59")
    return dt.time(int(m.group(1)), int(m.group(2)))


def _full(d: str) -> str:
    return {
        "mon": "monday",
        "tue": "tuesday",
        "wed": "wednesday",
        "thu": "thursday",
        "fri": "friday",
        "sat": "saturday",
        "sun": "sunday",
    }[d]
