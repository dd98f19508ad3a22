"""Cut an iCal feed into its calendars and the components a digest reads, before any parser sees it.

Real feeds hold several VCALENDARs, alarms with invalid triggers, broken free/busy blocks and
truncated tails. Splitting the text first lets one bad component cost only that component: alarms,
to-dos, journals and free/busy blocks are dropped unread (a digest shows none of them), and every
VEVENT and VTIMEZONE can be parsed on its own when its calendar as a whole does not parse.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

_LINE_BREAK = re.compile(r"\r\n|\n|\r")
_KEPT = {"VEVENT", "VTIMEZONE"}
_TOP_LEVEL = {"VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VTIMEZONE"}  # never nested in one another


@dataclass(slots=True)
class RawComponent:
    """One VEVENT or VTIMEZONE as unfolded content lines, BEGIN and END included."""

    name: str
    lines: list[str] = field(default_factory=list)
    closed: bool = False

    def value(self, prop: str) -> str | None:
        """The raw value of the first ``prop`` line (for messages: UID, SUMMARY)."""
        for line in self.lines[1:]:
            head, sep, val = line.partition(":")
            if sep and head.split(";", 1)[0].strip().upper() == prop:
                return _unescape(val.strip())
        return None

    def values(self, prop: str) -> list[str]:
        """The raw values of every ``prop`` line, escapes kept (e.g. every RRULE as written)."""
        out = []
        for line in self.lines[1:]:
            head, sep, val = line.partition(":")
            if sep and head.split(";", 1)[0].strip().upper() == prop:
                out.append(val.strip())
        return out

    def text(self) -> str:
        return "\r\n".join(self.lines) + "\r\n"


@dataclass(slots=True)
class RawCalendar:
    header: dict[str, str] = field(default_factory=dict)  # calendar-level properties (first value each)
    timezones: list[RawComponent] = field(default_factory=list)
    events: list[RawComponent] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)  # component name -> how many were dropped unread
    closed: bool = False
    implicit: bool = False  # no BEGIN:VCALENDAR around these components


def unfold(text: str) -> list[str]:
    """Logical content lines (RFC 5545 3.1: a line starting with a space or tab continues the last)."""
    lines: list[str] = []
    for raw in _LINE_BREAK.split(text):
        if raw[:1] in {" ", "\t"} and lines:
            lines[-1] += raw[1:]
        elif raw.strip():
            lines.append(raw)
    return lines


def _begin_end(line: str) -> tuple[str, str] | None:
    head, sep, val = line.partition(":")
    word = head.strip().upper()
    if sep and word in {"BEGIN", "END"}:
        return word, val.strip().upper()
    return None


def split_feed(text: str) -> list[RawCalendar]:
    """The calendars of a feed. VEVENTs outside any VCALENDAR form a calendar of their own."""
    calendars: list[RawCalendar] = []
    cal: RawCalendar | None = None
    comp: RawComponent | None = None  # the kept component being read
    stack: list[str] = []  # open components below the calendar (incl. the kept one)
    for line in unfold(text.lstrip("\ufeff")):
        marker = _begin_end(line)
        if marker is not None and marker[0] == "BEGIN":
            name = marker[1]
            if cal is not None and cal.implicit and name != "VCALENDAR":
                cal.closed = False
            if name == "VCALENDAR" and not stack:
                cal = RawCalendar()
                calendars.append(cal)
                continue
            if stack and name in _TOP_LEVEL:  # the open component was never ended (e.g. "END:VTOOD"): drop it
                stack, comp = [], None
            if cal is None:  # a component outside any VCALENDAR: a calendar of its own, complete when it is
                cal = RawCalendar(implicit=True)
                calendars.append(cal)
            if not stack and name in _KEPT:
                comp = RawComponent(name, [f"BEGIN:{name}"])
                (cal.events if name == "VEVENT" else cal.timezones).append(comp)
            elif comp is not None and comp.name == "VTIMEZONE" and len(stack) == 1:
                comp.lines.append(f"BEGIN:{name}")  # STANDARD / DAYLIGHT
            elif not stack:
                cal.ignored[name] += 1
            stack.append(name)
            continue
        if marker is not None:  # END
            name = marker[1]
            if name == "VCALENDAR" and cal is not None:
                if comp is not None and not comp.closed:  # an unterminated component: drop it
                    comp.lines.append(f"END:{comp.name}")
                cal.closed, stack, comp = True, [], None
                cal = None
                continue
            if name not in stack:
                continue  # a stray END
            while stack and stack[-1] != name:
                stack.pop()
            stack.pop()
            if cal is not None and cal.implicit and not stack:
                cal.closed = True
            if comp is not None and (len(stack) == 1 and comp.name == "VTIMEZONE"):
                comp.lines.append(f"END:{name}")
            elif comp is not None and not stack:
                comp.lines.append(f"END:{name}")
                comp.closed = True
                comp = None
            continue
        if cal is None:
            continue  # text before the first BEGIN
        if not stack:
            head, sep, val = line.partition(":")
            key = head.split(";", 1)[0].strip().upper()
            if sep and key not in cal.header:
                cal.header[key] = _unescape(val.strip())
        elif comp is not None and (len(stack) == 1 or comp.name == "VTIMEZONE"):
            comp.lines.append(line)
    return calendars


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)
