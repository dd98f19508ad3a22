"""RRULEs as feeds write them: parsed strictly enough to be safe, bounded before they are expanded.

:func:`parse_rule` accepts what calendar clients accept (spaces after commas, lower case) and refuses
what would change a series' meaning (an unknown part such as ``UNTL=``, iCal 1.0 syntax).
:func:`yearly_density` is an upper bound of a rule's instances per year from FREQ, INTERVAL and every
BYxxx part; :func:`window_start` moves a rule's start to the window so expansion costs what the
window holds, not what happened since DTSTART.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from dateutil import rrule as du

FREQS = {
    "YEARLY": du.YEARLY,
    "MONTHLY": du.MONTHLY,
    "WEEKLY": du.WEEKLY,
    "DAILY": du.DAILY,
    "HOURLY": du.HOURLY,
    "MINUTELY": du.MINUTELY,
    "SECONDLY": du.SECONDLY,
}
_PARTS = {
    "FREQ",
    "UNTIL",
    "COUNT",
    "INTERVAL",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
}
_WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_ORDINAL_DAY = re.compile(r"^[+-]?\d{1,2}(MO|TU|WE|TH|FR|SA|SU)$")
_DAYS_PER_YEAR = 365.2425


class RuleError(ValueError):
    """A recurrence rule that cannot be read without guessing; the message says why."""


@dataclass(frozen=True, slots=True)
class Rule:
    text: str  # the cleaned rule, for messages
    parts: dict[str, list[str]]

    @property
    def freq(self) -> str:
        return self.parts["FREQ"][0]

    @property
    def interval(self) -> int:
        return int(self.parts.get("INTERVAL", ["1"])[0])

    @property
    def count(self) -> int | None:
        return int(self.parts["COUNT"][0]) if "COUNT" in self.parts else None

    def n(self, part: str) -> int:
        return len(self.parts.get(part, []))


def parse_rule(text: str) -> Rule:
    """A rule from its text, e.g. ``FREQ=WEEKLY;BYDAY=MO, TU``; :class:`RuleError` when unreadable."""
    cleaned = re.sub(r"\s+", "", text).upper()
    if cleaned.startswith("RRULE:"):
        cleaned = cleaned[6:]
    parts: dict[str, list[str]] = {}
    for chunk in filter(None, cleaned.split(";")):
        key, sep, value = chunk.partition("=")
        if not sep:
            raise RuleError(f"RRULE {text.strip()!r} is not in RFC 5545 form (iCal 1.0?)")
        if key.startswith("X-"):
            continue
        if key not in _PARTS:
            raise RuleError(f"RRULE {text.strip()!r} has an unknown part {key!r}")
        if key in parts:
            raise RuleError(f"RRULE {text.strip()!r} repeats {key}")
        values = [v for v in value.split(",") if v]
        if not values:
            raise RuleError(f"RRULE {text.strip()!r} has an empty {key}")
        parts[key] = values
    if parts.get("FREQ", [""])[0] not in FREQS:
        raise RuleError(f"RRULE {text.strip()!r} has no valid FREQ")
    if "COUNT" in parts and "UNTIL" in parts and not parts["COUNT"][0].isdigit():
        del parts["COUNT"]  # COUNT=-1 beside an UNTIL (seen in real exports): the UNTIL says it all
    for key in ("COUNT", "INTERVAL"):
        if key in parts and (not parts[key][0].isdigit() or int(parts[key][0]) < 1 or len(parts[key]) > 1):
            raise RuleError(f"RRULE {text.strip()!r} has an invalid {key}")
    for day in parts.get("BYDAY", []):
        if day not in _WEEKDAYS and not _ORDINAL_DAY.match(day):
            raise RuleError(f"RRULE {text.strip()!r} has an invalid BYDAY value {day!r}")
    for key in ("BYSECOND", "BYMINUTE", "BYHOUR", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS"):
        for v in parts.get(key, []):
            if not re.fullmatch(r"[+-]?\d{1,3}", v):
                raise RuleError(f"RRULE {text.strip()!r} has an invalid {key} value {v!r}")
    if _impossible(parts):
        raise RuleError(f"RRULE {text.strip()!r} can never happen (no month has that day)")
    return Rule(";".join(f"{k}={','.join(v)}" for k, v in parts.items()), parts)


_MONTH_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


def _impossible(parts: dict[str, list[str]]) -> bool:
    """BYMONTHDAY days that none of the BYMONTH months has (e.g. BYMONTH=2;BYMONTHDAY=30): dateutil would
    scan day by day to the year 9999 without finding one, beyond the reach of any budget."""
    if "BYMONTHDAY" not in parts or "BYMONTH" not in parts:
        return False
    longest = max((_MONTH_DAYS.get(abs(int(m)), 31) for m in parts["BYMONTH"]), default=31)
    return all(abs(int(d)) > longest or int(d) == 0 for d in parts["BYMONTHDAY"])


def yearly_density(rule: Rule) -> float:
    """An upper bound of the rule's instances per year (FREQ, INTERVAL and every BYxxx part)."""
    freq, interval = rule.freq, rule.interval
    months = rule.n("BYMONTH") or 12
    plain_days = sum(1 for d in rule.parts.get("BYDAY", []) if d in _WEEKDAYS)
    nth_days = rule.n("BYDAY") - plain_days
    if freq in {"YEARLY", "MONTHLY", "WEEKLY"}:
        span = {"YEARLY": 366, "MONTHLY": 31, "WEEKLY": 7}[freq]
        periods = {"YEARLY": 1.0, "MONTHLY": 12.0, "WEEKLY": 53.0}[freq] / interval
        bounds = [float(span)]
        if rule.n("BYMONTH") and freq == "YEARLY":
            bounds.append(31.0 * months)
        if rule.n("BYWEEKNO"):
            bounds.append(7.0 * rule.n("BYWEEKNO"))
        if rule.n("BYYEARDAY"):
            bounds.append(float(rule.n("BYYEARDAY")))
        if rule.n("BYMONTHDAY"):
            bounds.append(float(rule.n("BYMONTHDAY")) * (months if freq == "YEARLY" else 1))
        if rule.n("BYDAY"):
            per_plain = {"YEARLY": 53 if not rule.n("BYMONTH") else 5 * months, "MONTHLY": 5, "WEEKLY": 1}[freq]
            per_nth = months if freq == "YEARLY" and rule.n("BYMONTH") else 1
            bounds.append(float(plain_days * per_plain + nth_days * per_nth))
        has_day_part = any(rule.n(p) for p in ("BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY"))
        if not has_day_part:  # the day of DTSTART (per month listed, for YEARLY)
            bounds.append(float(rule.n("BYMONTH") or 1) if freq == "YEARLY" else 1.0)
        days = periods * min(bounds)
        times = (rule.n("BYHOUR") or 1) * (rule.n("BYMINUTE") or 1) * (rule.n("BYSECOND") or 1)
        per_period_cap = rule.n("BYSETPOS") or math.inf
        return min(days * times, periods * per_period_cap)
    # DAILY and finer: the days of a year that pass the day filters, times the times of day
    fraction = 1.0
    if rule.n("BYMONTH"):
        fraction = min(fraction, months / 12)
    if rule.n("BYYEARDAY"):
        fraction = min(fraction, rule.n("BYYEARDAY") / 365)
    if rule.n("BYMONTHDAY"):
        fraction = min(fraction, rule.n("BYMONTHDAY") / 28)
    if rule.n("BYDAY"):
        fraction = min(fraction, rule.n("BYDAY") / 7)
    days = _DAYS_PER_YEAR * min(1.0, fraction) + 1
    hours, minutes, seconds = (rule.n("BYHOUR") or 24), (rule.n("BYMINUTE") or 60), (rule.n("BYSECOND") or 60)
    if freq == "DAILY":
        per_day = (rule.n("BYHOUR") or 1) * (rule.n("BYMINUTE") or 1) * (rule.n("BYSECOND") or 1)
        return days / interval * per_day + 1
    if freq == "HOURLY":
        per_day = min(math.ceil(24 / interval), hours) * (rule.n("BYMINUTE") or 1) * (rule.n("BYSECOND") or 1)
    elif freq == "MINUTELY":
        per_day = min(math.ceil(1440 / interval), hours * minutes) * (rule.n("BYSECOND") or 1)
    else:
        per_day = min(math.ceil(86400 / interval), hours * minutes * seconds)
    return days * per_day


def estimate(rule: Rule, start: dt.datetime, end: dt.datetime) -> int:
    """An upper bound of the instances in [start, end) (COUNT included)."""
    years = max(0.0, (end - start).total_seconds()) / (_DAYS_PER_YEAR * 86400)
    bound = math.ceil(yearly_density(rule) * years + _period_max(rule))
    return min(bound, rule.count) if rule.count is not None else bound


def _period_max(rule: Rule) -> float:
    """How many instances one period may hold (the slack of a partial period at each end)."""
    return (
        yearly_density(rule)
        / {
            "YEARLY": 1,
            "MONTHLY": 12,
            "WEEKLY": 52,
            "DAILY": 365,
            "HOURLY": 8766,
            "MINUTELY": 525960,
            "SECONDLY": 31557600,
        }[rule.freq]
        * rule.interval
        + 1
    )


def build(rule: Rule, dtstart: dt.datetime, *, until: dt.datetime | None, target: dt.datetime) -> du.rrule:
    """A dateutil rule over naive wall-clock times, started in the period that holds ``target``.

    A rule with COUNT must be walked from DTSTART (its instances are counted from there), so it is not
    moved; the caller bounds it with :func:`estimate` first.
    """
    text = ";".join(f"{k}={','.join(v)}" for k, v in rule.parts.items() if k != "UNTIL")
    try:
        base = du.rrulestr(text, dtstart=dtstart, ignoretz=True)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise RuleError(f"RRULE {rule.text!r} is invalid ({exc})") from None
    assert isinstance(base, du.rrule)
    moved = _moved_start(rule, dtstart, target) if rule.count is None else None
    kwargs: dict[str, object] = {"until": until}
    if moved is not None and moved > dtstart:
        kwargs.update(_explicit_defaults(rule, dtstart))
        kwargs["dtstart"] = moved
    try:
        return base.replace(**kwargs)
    except (ValueError, TypeError) as exc:
        raise RuleError(f"RRULE {rule.text!r} is invalid ({exc})") from None


def _explicit_defaults(rule: Rule, ds: dt.datetime) -> dict[str, object]:
    """What dateutil derives from DTSTART, stated, so a moved start keeps the series' days and times."""
    out: dict[str, object] = {}
    freq = FREQS[rule.freq]
    if not any(rule.n(p) for p in ("BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY")):
        if freq == du.YEARLY:
            if not rule.n("BYMONTH"):
                out["bymonth"] = ds.month
            out["bymonthday"] = ds.day
        elif freq == du.MONTHLY:
            out["bymonthday"] = ds.day
        elif freq == du.WEEKLY:
            out["byweekday"] = ds.weekday()
    if freq < du.HOURLY and not rule.n("BYHOUR"):
        out["byhour"] = ds.hour
    if freq < du.MINUTELY and not rule.n("BYMINUTE"):
        out["byminute"] = ds.minute
    if freq < du.SECONDLY and not rule.n("BYSECOND"):
        out["bysecond"] = ds.second
    return out


def _moved_start(rule: Rule, ds: dt.datetime, target: dt.datetime) -> dt.datetime | None:
    """The start of the last period at or before ``target`` that is a whole number of intervals after DTSTART."""
    if target <= ds:
        return None
    step, freq = rule.interval, rule.freq
    if freq == "YEARLY":
        return dt.datetime(ds.year + (target.year - ds.year) // step * step, 1, 1)
    if freq == "MONTHLY":
        m0, mt = ds.year * 12 + ds.month - 1, target.year * 12 + target.month - 1
        m = m0 + (mt - m0) // step * step
        return dt.datetime(m // 12, m % 12 + 1, 1)
    if freq == "WEEKLY":
        wkst = (
            _WEEKDAYS.index(rule.parts.get("WKST", ["MO"])[0]) if rule.parts.get("WKST", ["MO"])[0] in _WEEKDAYS else 0
        )
        week0 = ds.date() - dt.timedelta(days=(ds.weekday() - wkst) % 7)
        weeks = (target.date() - week0).days // (7 * step) * step
        return dt.datetime.combine(week0 + dt.timedelta(weeks=weeks), dt.time())
    if freq == "DAILY":
        days = (target.date() - ds.date()).days // step * step
        return dt.datetime.combine(ds.date() + dt.timedelta(days=days), dt.time())
    unit = {"HOURLY": dt.timedelta(hours=1), "MINUTELY": dt.timedelta(minutes=1), "SECONDLY": dt.timedelta(seconds=1)}
    base = {"HOURLY": ds.replace(minute=0, second=0), "MINUTELY": ds.replace(second=0), "SECONDLY": ds}[freq]
    n = (target - base) // (unit[freq] * step) * step
    return base + unit[freq] * n
