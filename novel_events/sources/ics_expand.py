"""Series (a master VEVENT, its RRULEs/RDATEs/EXDATEs and its RECURRENCE-ID overrides) -> instances.

Every instance carries its original start, so its id (series UID + original start) is stable whether
or not it was moved, and overrides replace exactly the instance they name. Work is bounded before it
is done: each rule is estimated (:func:`ics_rules.estimate`) and started at the window, and the feed's
:class:`Budget` caps instances and time.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from novel_events.errors import PermanentError
from novel_events.sources import ics_rules

MAX_INSTANCES = 20_000  # per feed, in the window
TIME_BUDGET = 10.0  # CPU seconds per feed, parsing included (a real 1.6 MB feed of 4,778 events takes ~3 s);
# CPU of the reading thread, not wall clock, so a busy host refuses nothing more
_SLACK = dt.timedelta(days=2)  # wall clock vs UTC, whatever the zone
Value = dt.date | dt.datetime  # a date (all-day) or an aware datetime
Note = tuple[str, bool]  # (what was not read as written, whether data was lost)


_DATE_ONLY = re.compile(r"\d{8}")


class SeriesProblem(ValueError):
    """This series (or event) cannot be read; the message says why, the caller names the event."""


@dataclass(slots=True)
class Budget:
    """One cap on instances and one time budget (CPU seconds of the reading thread) for a whole feed."""

    max_instances: int = MAX_INSTANCES
    seconds: float = TIME_BUDGET
    instances: int = 0
    steps: int = 0  # rule iterations done (the work; a series is walked from the window, not its start)
    _deadline: float = field(default=0.0)

    def __post_init__(self) -> None:
        self._deadline = time.thread_time() + self.seconds

    def check_time(self) -> None:
        if time.thread_time() > self._deadline:
            raise PermanentError(
                f"iCal feed took more than {self.seconds:g} s to read; is it a real calendar? "
                "(series with very many instances are the usual cause)"
            )

    def add(self, n: int = 1) -> None:
        self.instances += n
        if self.instances > self.max_instances:
            raise PermanentError(
                f"iCal feed has more than {self.max_instances:,} events in the window; is it a real calendar?"
            )


@dataclass(slots=True)
class Instance:
    comp: Any  # the VEVENT that describes this instance (the master, or the override)
    start: Value
    end: Value
    original: Value | None  # the original start, for series instances


@dataclass(slots=True)
class Window:
    start: dt.datetime  # aware
    end: dt.datetime
    tz: dt.tzinfo  # the calendar's zone: floating times and all-day dates are read in it
    utc_to: dt.tzinfo | None = None  # X-WR-TIMEZONE: UTC starts are read as times of this zone (as clients do)


def dt_of(prop: Any, name: str) -> Any:
    """``prop.dt``, or :class:`SeriesProblem` naming the property when its value could not be parsed."""
    try:
        return prop.dt
    except Exception:  # icalendar's BrokenCalendarProperty (an AttributeError in some versions, not in others)
        raise SeriesProblem(f"has an unreadable {name} {str(prop)[:60]!r}") from None


def readable(prop: Any) -> bool:
    """False for a property icalendar kept as broken (accessing its value raises)."""
    try:
        prop.dt  # noqa: B018
    except Exception:
        return False
    return True


def is_all_day(prop: Any, raw: str | None = None) -> bool:
    """A date, whatever the library made of it (``DTSTART;TZID=…:20041225`` is read as a midnight time)."""
    if prop is None:
        return False
    value = dt_of(prop, "DTSTART")
    params = getattr(prop, "params", {}) or {}
    if raw is not None and _DATE_ONLY.fullmatch(raw.strip()):
        return True
    return not isinstance(value, dt.datetime) or str(params.get("VALUE", "")).upper() == "DATE"


def value_of(prop: Any, tz: dt.tzinfo, *, all_day: bool | None = None) -> Value:
    """A DTSTART-like property as a date or an aware datetime (floating -> ``tz``)."""
    value = dt_of(prop, "date")
    if isinstance(value, tuple):  # a PERIOD (RDATE)
        value = value[0]
    if not isinstance(value, dt.date):  # VALUE=TIME, a duration, …
        raise SeriesProblem(f"has a start that is not a date or date-time ({prop.to_ical().decode()[:40]!r})")
    if all_day if all_day is not None else is_all_day(prop):
        return value.date() if isinstance(value, dt.datetime) else value
    if not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time(), tz)
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def key(value: Value) -> dt.date | dt.datetime:
    """What identifies an original start: the date, or the UTC instant."""
    return value.astimezone(dt.UTC) if isinstance(value, dt.datetime) else value


def stamp(value: Value) -> str:
    """The id suffix of an instance (Google's form: ``20260105T180000Z`` or ``20260105``)."""
    k = key(value)
    return k.strftime("%Y%m%dT%H%M%SZ") if isinstance(k, dt.datetime) else k.strftime("%Y%m%d")


def as_instant(value: Value, tz: dt.tzinfo) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time(), tz)


def _is_utc(value: dt.datetime) -> bool:
    return value.tzinfo is dt.UTC or getattr(value.tzinfo, "key", None) in {"UTC", "Etc/UTC"}


def span(comp: Any, window: Window) -> tuple[Value, Value]:
    """(start, end) of a VEVENT. All-day stays all-day whatever the end says."""
    start, end = _span(comp, window.tz)
    if window.utc_to is not None and isinstance(start, dt.datetime) and _is_utc(start):
        start = start.astimezone(window.utc_to)
        end = end.astimezone(window.utc_to) if isinstance(end, dt.datetime) else end
    return start, end


def _span(comp: Any, tz: dt.tzinfo) -> tuple[Value, Value]:
    dtstart = comp.get("DTSTART")
    if isinstance(dtstart, list):  # DTSTART twice: the first one, as clients do
        dtstart = dtstart[0]
    if dtstart is None:
        raise SeriesProblem("has no start")
    all_day = is_all_day(dtstart, (getattr(comp, "raw_values", None) or {}).get("DTSTART"))
    start = value_of(dtstart, tz, all_day=all_day)
    end: Value | None = None
    dtend = comp.get("DTEND")
    if isinstance(dtend, list):
        dtend = dtend[0]
    if dtend is not None and readable(dtend):
        end = value_of(dtend, tz, all_day=all_day)
    elif readable(comp.get("DURATION")) and isinstance(comp.get("DURATION").dt, dt.timedelta):
        end = start + comp.get("DURATION").dt
        if all_day and isinstance(end, dt.datetime):
            end = end.date()
    if end is not None and end < start and not all_day:
        start, end = end, start  # swapped start and end (seen in real exports): clients show the span
    if end is None or end < start or (all_day and end == start):
        end = start + dt.timedelta(days=1) if all_day else start
    return start, end


def _naive(value: Value, tz: dt.tzinfo | None) -> dt.datetime:
    """Wall-clock time in ``tz`` (the series' zone) without tzinfo, for dateutil."""
    if isinstance(value, dt.datetime):
        return (value.astimezone(tz) if tz is not None else value).replace(tzinfo=None)
    return dt.datetime.combine(value, dt.time())


def _from_naive(naive: dt.datetime, like: Value) -> Value:
    if not isinstance(like, dt.datetime):
        return naive.date()
    return naive.replace(tzinfo=like.tzinfo)


def _dates(prop: Any, name: str, notes: list[Note]) -> Iterator[Any]:
    """The values of a (possibly repeated) RDATE/EXDATE property: date, datetime or (start, end|duration)."""
    for p in prop if isinstance(prop, list) else [prop]:
        try:
            values = list(p.dts)
        except Exception:
            values = _lenient_dates(str(p))  # e.g. Google birthdays: RDATE:20121210Z (a date with a Z)
            if not values:
                notes.append((f"has an unreadable {name} {str(p)[:60]!r}; it is ignored", True))
                continue
        for v in values:
            value = v.dt[0] if isinstance(v.dt, tuple) else v.dt
            if not isinstance(value, dt.date):  # VALUE=TIME and the like
                notes.append((f"has a {name} that is not a date or date-time ({value!r:.40}); it is ignored", True))
                continue
            yield v, getattr(v, "params", None) or getattr(p, "params", {})


class _Lenient:
    """A date or date-time read from text the library refused, shaped like its values (``.dt``)."""

    def __init__(self, value: dt.date | dt.datetime) -> None:
        self.dt = value
        self.params: dict[str, str] = {}


_LENIENT = re.compile(r"(\d{8})(?:T(\d{6}))?(Z?)")


def _lenient_dates(text: str) -> list[Any]:
    out: list[Any] = []
    for part in text.split(","):
        m = _LENIENT.fullmatch(part.strip())
        if m is None:
            return []
        try:
            day = dt.datetime.strptime(m.group(1), "%Y%m%d")
            if m.group(2) is None:
                out.append(_Lenient(day.date()))
            else:
                moment = dt.datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S")
                out.append(_Lenient(moment.replace(tzinfo=dt.UTC) if m.group(3) else moment))
        except ValueError:
            return []
    return out


def _rule_texts(comp: Any) -> list[str]:
    raw = getattr(comp, "raw_rrules", None)
    if raw is not None:
        return list(raw)
    rules = comp.get("RRULE")
    if rules is None:
        return []
    return [
        r.to_ical().decode() if hasattr(r, "to_ical") and not isinstance(r, str) else str(r)
        for r in (rules if isinstance(rules, list) else [rules])
    ]


@dataclass(slots=True)
class Series:
    uid: str
    master: Any  # None: changed instances of a series the feed does not hold
    overrides: list[Any] = field(default_factory=list)

    @property
    def recurring(self) -> bool:
        return bool(
            self.overrides
            or self.master is None
            or self.master.get("RRULE") is not None
            or self.master.get("RDATE") is not None
        )


def expand(series: Series, window: Window, budget: Budget, notes: list[Note]) -> list[Instance]:
    """The series' instances that overlap the window; ``notes`` gets what was ignored and why."""
    if series.master is None:
        return _changed(series.overrides, None, window, budget, notes)
    start, end = span(series.master, window)
    dtend = series.master.get("DTEND")
    if dtend is not None and not readable(dtend):
        notes.append((f"has an unreadable DTEND {str(dtend)[:40]!r}; read as ending when it starts", False))
    duration = end - start  # type: ignore[operator]
    tz = start.tzinfo if isinstance(start, dt.datetime) else None
    lo = _naive(window.start, tz or window.tz) - max(duration, dt.timedelta(0)) - _SLACK
    hi = _naive(window.end, tz or window.tz) + _SLACK
    ds = _naive(start, tz)
    starts: dict[dt.date | dt.datetime, tuple[Value, dt.timedelta]] = {}
    if lo <= ds <= hi:
        starts[key(start)] = (start, duration)
    for text in _rule_texts(series.master):
        if not text.strip():
            continue  # "RRULE:" with nothing: no rule (seen in calendarlabs.com holiday feeds)
        try:
            rule = ics_rules.parse_rule(text)
            for naive in _walk(rule, ds, start, lo, hi, budget):
                value = _from_naive(naive, start)
                starts.setdefault(key(value), (value, duration))
                if budget.instances + len(starts) > budget.max_instances:
                    budget.add(len(starts))  # the feed's cap is reached while walking: stop now
        except ics_rules.RuleError as exc:
            notes.append((f"{exc}; that rule is ignored", True))
    rdate = series.master.get("RDATE")
    if rdate is not None:
        for v, _params in _dates(rdate, "RDATE", notes):
            value = v.dt
            own = duration
            if isinstance(value, tuple):
                value, other = value
                own = other if isinstance(other, dt.timedelta) else other - value
            value = _coerce(value, start, window.tz)
            if lo <= _naive(value, tz) <= hi:
                starts.setdefault(key(value), (value, own))
    exdate = series.master.get("EXDATE")
    deleted: set[Any] = set()  # an instance the master deletes stays deleted, even if an older change names it
    if exdate is not None:
        for v, params in _dates(exdate, "EXDATE", notes):
            raw = v.dt[0] if isinstance(v.dt, tuple) else v.dt
            if isinstance(start, dt.datetime) and (not isinstance(raw, dt.datetime) or _is_date(params)):
                day = raw.date() if isinstance(raw, dt.datetime) else raw  # EXDATE;VALUE=DATE: that whole day
                for k in [k for k, (s, _) in starts.items() if _naive(s, tz).date() == day]:
                    starts.pop(k)
                deleted.add(day)
            else:
                k = key(_coerce(raw, start, window.tz))
                starts.pop(k, None)
                deleted.add(k)
    changed = {key(_coerce(c.get("RECURRENCE-ID").dt, start, window.tz)) for c in series.overrides}
    future = _this_and_future(series.overrides, start, window)
    out: list[Instance] = []
    for k in sorted(starts, key=lambda k: _naive(starts[k][0], tz)):
        value, own = starts[k]
        budget.check_time()
        if k in changed:
            continue
        inst = Instance(series.master, value, value + own, value)
        for since, comp, shift, length in future:  # RANGE=THISANDFUTURE: a change to this and later instances
            if as_instant(value, window.tz) >= since:
                inst = Instance(comp, value + shift, value + shift + length, value)
                break
        if _overlaps(inst, window):
            budget.add()
            out.append(inst)
    live = [c for c in series.overrides if key(_coerce(c.get("RECURRENCE-ID").dt, start, window.tz)) not in deleted]
    return out + _changed(live, start, window, budget, notes)


def _this_and_future(overrides: list[Any], start: Value, window: Window) -> list[tuple[dt.datetime, Any, Any, Any]]:
    """(from when, the change, time shift, duration) of RANGE=THISANDFUTURE changes, latest first."""
    out = []
    for comp in overrides:
        rid = comp.get("RECURRENCE-ID")
        if str((getattr(rid, "params", None) or {}).get("RANGE", "")).upper() != "THISANDFUTURE":
            continue
        try:
            o_start, o_end = span(comp, window)
        except SeriesProblem:
            continue
        original = _coerce(rid.dt, start, window.tz)
        if type(o_start) is not type(original):
            continue  # a change between all-day and timed cannot be carried to other instances
        out.append((as_instant(original, window.tz), comp, o_start - original, o_end - o_start))  # type: ignore[operator]
    return sorted(out, key=lambda item: item[0], reverse=True)


def _changed(
    overrides: list[Any], start: Value | None, window: Window, budget: Budget, notes: list[Note]
) -> list[Instance]:
    """Instances changed by a RECURRENCE-ID component (moved, retitled, cancelled), wherever they moved."""
    out: list[Instance] = []
    for comp in overrides:
        rid = comp.get("RECURRENCE-ID")
        try:
            o_start, o_end = span(comp, window)
        except SeriesProblem as exc:
            what = rid.to_ical().decode()
            notes.append((f"the change to its instance of {what} {exc}; that change is ignored", True))
            continue
        original = _coerce(rid.dt, start if start is not None else o_start, window.tz)
        inst = Instance(comp, o_start, o_end, original)
        if _overlaps(inst, window):
            budget.add()
            out.append(inst)
    return out


def _is_date(params: Any) -> bool:
    return str((params or {}).get("VALUE", "")).upper() == "DATE"


def _coerce(value: Any, like: Value, tz: dt.tzinfo) -> Value:
    """An RDATE/EXDATE/RECURRENCE-ID value in the form of the series' start (date, or aware datetime)."""
    if isinstance(value, tuple):
        value = value[0]
    if not isinstance(like, dt.datetime):  # an all-day series: the date the value falls on in the calendar's zone
        if isinstance(value, dt.datetime):
            return (value.astimezone(tz) if value.tzinfo is not None else value).date()
        return value
    if not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, like.timetz())
    if value.tzinfo is None:
        return value.replace(tzinfo=like.tzinfo or tz)
    return value


def _walk(
    rule: ics_rules.Rule, ds: dt.datetime, start: Value, lo: dt.datetime, hi: dt.datetime, budget: Budget
) -> Iterator[dt.datetime]:
    """The rule's starts in [lo, hi] as naive wall-clock times, refused up front when too many."""
    until = _until(rule, start)
    stop = min(hi, until) if until is not None else hi
    walk_from = lo if rule.count is None else ds
    expected = ics_rules.estimate(rule, max(walk_from, ds), stop)
    if expected > budget.max_instances:
        raise ics_rules.RuleError(
            f"RRULE {rule.text!r} would need about {expected:,} instances"
            f"{' from its start' if rule.count is not None else ' in the window'}"
            f" (more than {budget.max_instances:,})"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dateutil warns about COUNT with UNTIL; RFC-invalid but readable
        rr = ics_rules.build(rule, ds, until=until, target=lo)
        n = 0
        try:
            for naive in rr:
                n += 1
                budget.steps += 1
                if n % 256 == 0:
                    budget.check_time()
                if naive > hi:
                    return
                if naive >= lo:
                    yield naive
        except (ValueError, OverflowError) as exc:  # e.g. dateutil's 'Invalid combination ... empty rule'
            raise ics_rules.RuleError(f"RRULE {rule.text!r} is invalid ({exc})") from None


def _until(rule: ics_rules.Rule, start: Value) -> dt.datetime | None:
    """UNTIL as naive wall-clock time of the series' zone (a date UNTIL includes its whole day)."""
    if "UNTIL" not in rule.parts:
        return None
    raw = rule.parts["UNTIL"][0]
    try:
        if len(raw) == 8:
            return dt.datetime.strptime(raw, "%Y%m%d").replace(hour=23, minute=59, second=59)
        parsed = dt.datetime.strptime(raw.rstrip("Z"), "%Y%m%dT%H%M%S")
    except ValueError:
        raise ics_rules.RuleError(f"RRULE {rule.text!r} has an invalid UNTIL") from None
    if raw.endswith("Z") and isinstance(start, dt.datetime) and start.tzinfo is not None:
        return parsed.replace(tzinfo=dt.UTC).astimezone(start.tzinfo).replace(tzinfo=None)
    return parsed


def _overlaps(inst: Instance, window: Window) -> bool:
    s, e = as_instant(inst.start, window.tz), as_instant(inst.end, window.tz)
    if e <= s:
        return window.start <= s < window.end
    return s < window.end and e > window.start
