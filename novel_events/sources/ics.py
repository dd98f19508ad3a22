"""iCal (RFC 5545) feeds as a calendar source.

:func:`parse_ics` is pure: bytes in, a :class:`CalendarDump` out, recurring events expanded into
instances that look like Calendar API ``events.list(singleEvents=true)`` items (instances of a
series carry ``recurringEventId``). :func:`read_calendar` also returns what was skipped (the work is
in ``ics_split`` -> ``ics_parse`` -> ``ics_rules``/``ics_expand`` -> ``ics_calendar``).
:func:`read_ics` does the I/O (a file or an http(s) URL).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlparse

import httpx

from novel_events.errors import PermanentError, TransientError
from novel_events.events import CalendarDump
from novel_events.sources.ics_calendar import IcsResult, read_calendar
from novel_events.sources.ics_expand import MAX_INSTANCES
from novel_events.sources.ics_parse import Problem

__all__ = ["MAX_INSTANCES", "IcsResult", "Problem", "parse_ics", "read_calendar", "read_ics"]

MAX_BYTES = 20 * 1024 * 1024


def read_ics(location: str, *, timeout: float = 20.0) -> bytes:
    """The bytes of an iCal feed at a path or http(s) URL.

    Network trouble and 5xx/429 are :class:`TransientError`; a missing file or a 4xx is permanent.
    """
    scheme = urlparse(location).scheme.lower()
    if scheme in {"http", "https", "webcal"}:
        url = "https" + location[len("webcal"):] if scheme == "webcal" else location
        try:
            resp = httpx.get(url, timeout=timeout, follow_redirects=True)
        except httpx.TransportError as exc:
            raise TransientError(f"iCal feed unreachable: {type(exc).__name__}") from None
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TransientError(f"iCal feed answered HTTP {resp.status_code}",
                                 retry_after=_retry_after(resp.headers.get("retry-after")))
        if resp.status_code >= 400:
            raise PermanentError(f"iCal feed answered HTTP {resp.status_code}")
        if len(resp.content) > MAX_BYTES:
            raise PermanentError(f"iCal feed is larger than {MAX_BYTES // 1024 // 1024} MiB")
        return resp.content
    path = Path(location[len("file://"):] if location.startswith("file://") else location).expanduser()
    try:
        if path.stat().st_size > MAX_BYTES:
            raise PermanentError(f"iCal file is larger than {MAX_BYTES // 1024 // 1024} MiB")
        return path.read_bytes()
    except OSError as exc:
        raise PermanentError(f"cannot read iCal file {path}: {exc.strerror or exc}") from None


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


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
