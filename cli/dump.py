"""``novel-events dump``: the calendar dump a digest would analyze, so a person can see why an event
was or was not in their digest (and tests can check a source without a worker).

stdout: the DESIGN.md dump JSON. stderr: one line per event that could not be read. Exit 0 even when
events were skipped; bad input exits 2 (``cli.app.main``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import typer

from novel_events.errors import InvalidInput, PermanentError
from novel_events.events import CalendarDump, zone
from novel_events.models import check_user_id

SOURCES = "ics:PATH_OR_URL, google (with --user ID), or a user id"


def register(app: typer.Typer) -> None:
    app.command("dump")(dump)


def dump(
    source: str = typer.Argument(..., metavar="SOURCE", help=SOURCES),
    start: str = typer.Option(..., "--start", help="ISO 8601 date or time; naive values are read in --timezone"),
    end: str = typer.Option(..., "--end", help="ISO 8601 date or time (exclusive)"),
    timezone: str | None = typer.Option(None, "--timezone", help="IANA zone (default: the user's, else UTC)"),
    user_id: str | None = typer.Option(None, "--user", help="the user whose Google grant to use (SOURCE google)"),
) -> None:
    """Print the calendar dump (DESIGN.md format) a digest would analyze for SOURCE over [--start, --end)."""
    user = _user_for(source, user_id)
    tz_name = timezone or (user.timezone if user is not None else "UTC")
    zone(tz_name, field_name="--timezone")
    lo, hi = instant(start, tz_name, "--start"), instant(end, tz_name, "--end")
    if hi <= lo:
        raise InvalidInput("--end", f"{end!r} is not after --start {start!r}")
    problems: list[str] = []
    location = source[4:] if source.startswith("ics:") else None
    if location is None and user is not None and user.source.startswith("ics:"):
        location = user.source[4:]
    if location is not None:
        result = read_ics_source(location, start=lo, end=hi, user_tz=tz_name)
        data, problems = result.dump, [str(p) for p in result.problems]
    else:
        assert user is not None
        from tasks.google import fetch_google  # lazy: Prefect + the Google client only for Google sources

        data = fetch_google(user, lo, hi)
        data.time_zone = tz_name
    typer.echo(json.dumps(data.to_json(), indent=2, ensure_ascii=False))
    for line in problems:
        print(line, file=sys.stderr)


def read_ics_source(location: str, *, start: dt.datetime, end: dt.datetime, user_tz: str) -> Any:
    """The feed at ``location`` read and expanded (the one place the dump command fetches bytes)."""
    from novel_events.settings import load_settings
    from novel_events.sources.feeds import FeedPolicy, read_feed
    from novel_events.sources.ics import read_calendar

    try:
        data = read_feed(location, FeedPolicy.from_settings(load_settings()))
    except PermanentError as exc:
        if "://" not in location:  # a local file that cannot be read is bad input
            raise InvalidInput("SOURCE", f"{exc}; use ics:/path/to/file.ics or ics:https://…") from None
        raise
    return read_calendar(data, start=start, end=end, user_tz=user_tz)


def _user_for(source: str, user_id: str | None) -> Any:
    if source.startswith("ics:"):
        if len(source) == 4:
            raise InvalidInput("SOURCE", f"ics: needs a path or URL; use {SOURCES}")
        if user_id is not None:
            raise InvalidInput("--user", "only with SOURCE google")
        return None
    if source == "google":
        if user_id is None:
            raise InvalidInput("--user", "SOURCE google needs --user ID (whose Google grant to read)")
        return _load_user(user_id)
    if user_id is not None:
        raise InvalidInput("--user", "only with SOURCE google")
    try:
        check_user_id(source)
    except InvalidInput:
        raise InvalidInput("SOURCE", f"{source!r} is not accepted; use {SOURCES}") from None
    return _load_user(source)


def _load_user(user_id: str) -> Any:
    from novel_events.settings import load_settings
    from novel_events.store import UserStore
    from tasks.store import ready_engine

    check_user_id(user_id)
    return UserStore(ready_engine(load_settings())).get(user_id)


def instant(value: str, tz_name: str, field: str) -> dt.datetime:
    """An ISO 8601 date or date-time as an aware datetime (naive -> ``tz_name``)."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            field, f"{value!r} is not ISO 8601; use e.g. 2026-12-01 or 2026-12-01T08:00:00+01:00"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone(tz_name))


__all__ = ["CalendarDump", "dump", "instant", "read_ics_source", "register"]
