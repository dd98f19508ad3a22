"""Operator commands: init, sync, run, preview, analyze, status."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any, cast

import typer

from novel_events.errors import InvalidInput
from novel_events.models import check_lookahead, check_user_id
from novel_events.names import user_deployment_full_name
from novel_events.settings import load_settings


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("connect")(connect)
    app.command("sync")(sync)
    app.command("run")(run)
    app.command("preview")(preview)
    app.command("analyze")(analyze)
    app.command("status")(status)


WORKER_KINDS = ("novel-events", "process")


def init(
    pool_limit: int | None = typer.Option(None, "--pool-limit", help="work pool concurrency limit"),
    pool_type: str = typer.Option(
        "novel-events",
        "--pool-type",
        help="novel-events (warm forked runs, default) | process (Prefect's stock worker)",
    ),
) -> None:
    """Create/upgrade the store, save the store block, create the work pool. Safe to repeat."""
    if pool_type not in WORKER_KINDS:
        raise InvalidInput("--pool-type", f"{pool_type!r} is not one of: {', '.join(WORKER_KINDS)}")
    from deployments.bootstrap import init as do_init
    from deployments.pool import PoolKind

    kind: PoolKind = "process" if pool_type == "process" else "novel-events"
    for line in asyncio.run(do_init(load_settings(), pool_limit=pool_limit, pool_type=kind)).lines:
        typer.echo(line)


def connect(
    user_id: str = typer.Argument(..., metavar="ID"),
    client_secrets: Path | None = typer.Option(None, "--client-secrets", help="OAuth client JSON (installed app)"),
    refresh_token_file: Path | None = typer.Option(
        None, "--refresh-token-file", help="a refresh token, or an authorized-user JSON, to import"
    ),
    service_account_file: Path | None = typer.Option(
        None, "--service-account-file", help="Workspace service-account key (domain-wide delegation)"
    ),
    subject: str | None = typer.Option(None, "--subject", help="user to impersonate (default: the user's email)"),
    no_browser: bool = typer.Option(False, "--no-browser", help="print the consent URL instead of opening it"),
) -> None:
    """Connect a user's Google Calendar (read-only scope); the grant is stored encrypted."""
    user = _user(user_id)
    given = [x for x in (client_secrets, refresh_token_file, service_account_file) if x is not None]
    if len(given) != 1:
        raise InvalidInput("--client-secrets/--refresh-token-file/--service-account-file", "give exactly one")
    settings = load_settings()
    grant: Any
    if service_account_file is not None:
        from novel_events.sources.google_connect import grant_from_service_account_file

        grant = grant_from_service_account_file(
            service_account_file, subject=subject or user.email, token_uri=settings.google_token_uri
        )
    elif client_secrets is not None:
        from novel_events.sources.google_connect import connect_with_client_secrets

        grant = connect_with_client_secrets(client_secrets, open_browser=not no_browser)
    else:
        from novel_events.sources.google_connect import grant_from_refresh_token_file

        assert refresh_token_file is not None
        secret = settings.google_client_secret.get_secret_value() if settings.google_client_secret else None
        grant = grant_from_refresh_token_file(
            refresh_token_file,
            client_id=settings.google_client_id,
            client_secret=secret,
            token_uri=settings.google_token_uri,
        )
    from tasks.credentials import connect_grant

    block = connect_grant(user.id, grant, settings)
    typer.echo(f"connected {user.id}: Google Calendar (read-only); grant stored in Prefect Secret block '{block}'")


def sync(dry_run: bool = typer.Option(False, "--dry-run", help="show what would change, change nothing")) -> None:
    """Reconcile users -> Prefect deployments."""
    from deployments.sync import sync as do_sync
    from tasks.store import ready_engine

    settings = load_settings()
    ready_engine(settings)
    report = asyncio.run(do_sync(settings, dry_run=dry_run))
    for c in report.changes:
        detail = f"  ({c.detail})" if c.detail else ""
        typer.echo(f"{'would be ' if dry_run else ''}{c.action:<8} {c.name}{detail}")
    for c in report.failed:
        typer.echo(f"FAILED   {c.name}  ({c.detail})", err=True)
    typer.echo(report.summary())
    if report.failed:
        raise typer.Exit(1)


def _user(user_id: str):
    from novel_events.store import UserStore
    from tasks.store import ready_engine

    check_user_id(user_id)
    return UserStore(ready_engine(load_settings())).get(user_id)


def run(
    user_id: str = typer.Argument(..., metavar="ID"),
    wait: bool = typer.Option(False, "--wait", help="wait for the run to finish and print its outcome"),
    dry_run: bool = typer.Option(False, "--dry-run", help="fetch, detect and render, send nothing"),
    timeout: int = typer.Option(600, "--timeout", help="seconds to wait with --wait"),
) -> None:
    """Start a manual digest run through the user's Prefect deployment."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    user = _user(user_id)
    name = user_deployment_full_name(user.id)
    fr = cast(
        FlowRun,
        run_deployment(
            name=name,
            parameters={"user_id": user.id, "manual": True, "dry_run": dry_run},
            timeout=timeout if wait else 0,
            tags=["manual"],
        ),
    )
    typer.echo(f"flow run {fr.name} ({fr.id}) for {name}")
    if wait:
        state = fr.state
        typer.echo(f"{state.name if state else 'unknown'}: {state.message if state and state.message else ''}")
        if not state or not state.is_completed():
            raise typer.Exit(1)


def preview(
    user_id: str = typer.Argument(..., metavar="ID"),
    out: Path | None = typer.Option(None, "--out", help="write the HTML here"),
) -> None:
    """Render the user's digest now, send nothing."""
    from tasks.digest import build_digest

    user = _user(user_id)
    if out is not None and not out.parent.exists():
        raise InvalidInput("--out", f"directory {str(out.parent)!r} does not exist")
    digest, novel = build_digest(user, dt.datetime.now(dt.UTC))
    if out is not None:
        out.write_text(digest.html, encoding="utf-8")
        typer.echo(f"wrote {out} ({len(novel)} novel events)")
    typer.echo(digest.text)


def analyze(
    dump: Path = typer.Argument(..., metavar="DUMP.json"),
    now: str = typer.Option(..., "--now", help="ISO 8601 instant, e.g. 2025-06-18T06:00:00+02:00"),
    lookahead_days: int = typer.Option(14, "--lookahead-days"),
    as_json: bool = typer.Option(False, "--json"),
    sensitivity: str = typer.Option("normal", "--sensitivity"),
    include_calendar: list[str] | None = typer.Option(None, "--include-calendar"),
    exclude_calendar: list[str] | None = typer.Option(None, "--exclude-calendar"),
    all_day: bool = typer.Option(True, "--all-day/--no-all-day"),
    declined: bool = typer.Option(False, "--declined/--no-declined"),
) -> None:
    """Offline novelty analysis of a calendar dump."""
    from novel_events.events import CalendarDump, parse_instant
    from novel_events.novelty import NoveltyPrefs
    from novel_events.novelty import analyze as run_analysis

    try:
        at = parse_instant(now)
    except ValueError:
        raise InvalidInput("--now", f"{now!r} is not an ISO 8601 instant like 2025-06-18T06:00:00+02:00") from None
    prefs = NoveltyPrefs(
        lookahead_days=check_lookahead(lookahead_days),
        sensitivity=sensitivity,
        include_calendars=tuple(include_calendar or ()),
        exclude_calendars=tuple(exclude_calendar or ()),
        include_all_day=all_day,
        include_declined=declined,
    )
    novel = run_analysis(CalendarDump.load(dump), now=at, prefs=prefs)
    if as_json:
        typer.echo(json.dumps({"novel": [n.to_json() for n in novel]}, ensure_ascii=False))
        return
    for n in novel:
        typer.echo(f"{n.start.isoformat()}  {n.score:.2f}  {n.event.get('summary', '')}  — {'; '.join(n.reasons)}")


def status(
    user: str | None = typer.Option(None, "--user", help="one user's recent runs (without it: the whole fleet)"),
    as_json: bool = typer.Option(False, "--json"),
    limit: int = typer.Option(20, "--limit"),
) -> None:
    """Without --user: the fleet (success rate over 7 and 30 days, p50/p95 lateness and duration, users needing
    attention) and the latest runs. With --user: that user's runs: scheduled vs started, state, duration, outcome."""
    from deployments.status import fleet_status, recent_runs
    from novel_events.fleet import fleet_text

    if user is not None:
        _user(user)
    settings = load_settings()
    rows = asyncio.run(recent_runs(settings, user_id=user, limit=limit))
    fleet = asyncio.run(fleet_status(settings)) if user is None else None
    if as_json:
        typer.echo(json.dumps(rows if fleet is None else {"fleet": fleet, "runs": rows}, indent=2))
        return
    if fleet is not None:
        for line in fleet_text(fleet):
            typer.echo(line)
        typer.echo("")
    if not rows:
        typer.echo("no digest runs yet")
        return
    typer.echo(f"{'USER':<14} {'SCHEDULED (UTC)':<17} {'START LAG':>9} {'STATE':<10} {'DURATION':>8}  OUTCOME")
    for r in rows:
        lag = f"{r['startLagSeconds']:.0f}s" if r["startLagSeconds"] is not None else "-"
        dur = f"{r['durationSeconds']:.1f}s" if r["durationSeconds"] is not None else "-"
        typer.echo(
            f"{r['user'] or '?':<14} {(r['scheduled'] or '')[:16]:<17} {lag:>9} {r['state']:<10} {dur:>8}  "
            f"{r['outcome'] or ''}"
        )
