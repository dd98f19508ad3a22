"""``novel-events users …``: validate everything first, then write; bad input changes nothing."""

from __future__ import annotations

import datetime as dt
import json

import typer

from novel_events.models import (
    User,
    check_email,
    check_lookahead,
    check_sensitivity,
    check_source,
    check_user_id,
)
from novel_events.schedules import Schedule
from novel_events.settings import load_settings
from novel_events.store.feed_secrets import mask_source

app = typer.Typer(no_args_is_help=True)

ScheduleOpt = typer.Option(None, "--schedule", help="daily | weekdays | weekends | weekly")
AtOpt = typer.Option(None, "--at", help="local time of day, HH:MM")
TzOpt = typer.Option(None, "--timezone", help="IANA time zone, e.g. Europe/Berlin")
DayOpt = typer.Option(None, "--day", help="mon..sun (weekly only)")
LookOpt = typer.Option(None, "--lookahead-days", help="days ahead to look, 1-60")
SourceOpt = typer.Option(None, "--source", help="google | ics:URL_OR_PATH")
InclOpt = typer.Option(None, "--include-calendar", help="only these calendars (name or id); repeat")
ExclOpt = typer.Option(None, "--exclude-calendar", help="skip these calendars (name or id); repeat")
SensOpt = typer.Option(None, "--sensitivity", help="low | normal | high")


def _users():
    from novel_events.store import UserStore
    from tasks.store import ready_engine  # lazy: pulls in prefect-sqlalchemy

    return UserStore(ready_engine(load_settings()))


def _source(value: str) -> str:
    src = check_source(value)
    if src.startswith("ics:"):
        from novel_events.sources.feeds import FeedPolicy, check_feed_source

        src = check_feed_source(src, FeedPolicy.from_settings(load_settings()))
    return src


@app.command("add")
def add(
    user_id: str = typer.Argument(..., metavar="ID"),
    email: str = typer.Option(..., "--email"),
    timezone: str = typer.Option(..., "--timezone", help="IANA time zone, e.g. Europe/Berlin"),
    schedule: str = typer.Option(..., "--schedule", help="daily | weekdays | weekends | weekly"),
    at: str = typer.Option(..., "--at", help="local time of day, HH:MM"),
    day: str | None = DayOpt,
    lookahead_days: int = typer.Option(14, "--lookahead-days", help="days ahead to look, 1-60"),
    source: str = typer.Option("google", "--source", help="google | ics:URL_OR_PATH"),
    include_calendar: list[str] | None = InclOpt,
    exclude_calendar: list[str] | None = ExclOpt,
    sensitivity: str = typer.Option("normal", "--sensitivity", help="low | normal | high"),
    all_day: bool = typer.Option(True, "--all-day/--no-all-day", help="consider all-day events"),
    declined: bool = typer.Option(False, "--declined/--no-declined", help="consider events you declined"),
    send_when_empty: bool = typer.Option(
        False, "--send-when-empty/--skip-when-empty", help="email a short note when nothing is novel"
    ),
    disable: bool = typer.Option(False, "--disable", help="add paused"),
) -> None:
    """Add a user (then `novel-events sync`, or wait for the maintenance job)."""
    user = User(
        id=check_user_id(user_id),
        email=check_email(email),
        schedule=Schedule.parse(schedule, at, timezone, day),
        source=_source(source),
        lookahead_days=check_lookahead(lookahead_days),
        include_calendars=tuple(include_calendar or ()),
        exclude_calendars=tuple(exclude_calendar or ()),
        sensitivity=check_sensitivity(sensitivity),
        enabled=not disable,
        include_all_day=all_day,
        include_declined=declined,
        send_when_empty=send_when_empty,
    )
    _users().add(user)
    nxt = user.schedule.next_times(dt.datetime.now(dt.UTC))[0]
    typer.echo(f"added {user.id}: {user.schedule.describe()}; next digest {_fmt(nxt)}")
    typer.echo("run `novel-events sync` to schedule it now (the maintenance job does it within 5 minutes)")


@app.command("set")
def set_(
    user_id: str = typer.Argument(..., metavar="ID"),
    email: str | None = typer.Option(None, "--email"),
    timezone: str | None = TzOpt,
    schedule: str | None = ScheduleOpt,
    at: str | None = AtOpt,
    day: str | None = DayOpt,
    lookahead_days: int | None = LookOpt,
    source: str | None = SourceOpt,
    include_calendar: list[str] | None = InclOpt,
    exclude_calendar: list[str] | None = ExclOpt,
    sensitivity: str | None = SensOpt,
    enable: bool | None = typer.Option(None, "--enable/--disable", help="resume or pause digests"),
    send_when_empty: bool | None = typer.Option(
        None, "--send-when-empty/--skip-when-empty", help="email a short note when nothing is novel"
    ),
    all_day: bool | None = typer.Option(None, "--all-day/--no-all-day", help="consider all-day events"),
    declined: bool | None = typer.Option(None, "--declined/--no-declined", help="consider events you declined"),
) -> None:
    """Change a user's settings; only the options given change."""
    check_user_id(user_id)
    store = _users()
    user = store.get(user_id)
    s = user.schedule
    cadence = schedule or s.cadence.value
    if day is None and cadence == "weekly":
        day = s.day
    new_schedule = Schedule.parse(cadence, at or s.at.strftime("%H:%M"), timezone or s.timezone, day)
    changes: dict[str, object] = {"schedule": new_schedule}
    if email is not None:
        changes["email"] = check_email(email)
    if lookahead_days is not None:
        changes["lookahead_days"] = check_lookahead(lookahead_days)
    if source is not None:
        changes["source"] = _source(source)
    if include_calendar is not None:
        changes["include_calendars"] = tuple(include_calendar)
    if exclude_calendar is not None:
        changes["exclude_calendars"] = tuple(exclude_calendar)
    if sensitivity is not None:
        changes["sensitivity"] = check_sensitivity(sensitivity)
    if enable is not None:
        changes["enabled"] = enable
    if send_when_empty is not None:
        changes["send_when_empty"] = send_when_empty
    if all_day is not None:
        changes["include_all_day"] = all_day
    if declined is not None:
        changes["include_declined"] = declined
    updated = user.with_changes(**changes)
    typer.echo(f"updated {user_id}" if store.save(updated) else f"{user_id}: nothing changed")
    if user.source == "google":  # only they can have a grant; spares everyone else the Prefect import
        from tasks.credentials import forget_unused_grant

        if forget_unused_grant(user, updated):
            typer.echo(f"deleted {user_id}'s stored Google grant")


@app.command("remove")
def remove(user_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Remove a user; the next sync deletes their deployment and scheduled runs."""
    check_user_id(user_id)
    store = _users()
    user = store.get(user_id)
    store.remove(user_id)
    if user.source == "google":
        from tasks.credentials import forget_unused_grant

        if forget_unused_grant(user, None):
            typer.echo(f"deleted {user_id}'s stored Google grant")
    typer.echo(f"removed {user_id}; run `novel-events sync` to delete its deployment now")


def _fmt(t: dt.datetime) -> str:
    return f"{t.strftime('%a %Y-%m-%d %H:%M %Z')} ({t.astimezone(dt.UTC).strftime('%H:%M UTC')})"


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every user with their next digest time, local and UTC."""
    now = dt.datetime.now(dt.UTC)
    rows = []
    for u in _users().list():
        nxt = u.schedule.next_times(now)[0] if u.enabled else None
        rows.append(
            {
                "id": u.id,
                "email": u.email,
                "schedule": u.schedule.describe(),
                "cron": u.schedule.cron,
                "timezone": u.timezone,
                "source": mask_source(u.source),
                "enabled": u.enabled,
                "lookaheadDays": u.lookahead_days,
                "nextLocal": nxt.isoformat() if nxt else None,
                "nextUtc": nxt.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if nxt else None,
                "needsReconnect": u.needs_reconnect,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no users yet: novel-events users add ID --email … --timezone … --schedule … --at HH:MM")
        return
    header = f"{'ID':<16} {'SCHEDULE':<40} {'NEXT (LOCAL)':<28} {'NEXT (UTC)':<17} SOURCE"
    typer.echo(header)
    for r in rows:
        local, utc = "paused", "-"
        if r["nextLocal"]:
            nxt = dt.datetime.fromisoformat(r["nextLocal"])
            local = nxt.strftime("%a %Y-%m-%d %H:%M %Z")
            utc = nxt.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
        typer.echo(f"{r['id']:<16} {r['schedule']:<40} {local:<28} {utc:<17} {r['source']}")
