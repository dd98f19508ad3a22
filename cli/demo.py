"""``novel-events demo`` (one command, end to end) and ``novel-events up`` (keep it running)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import cast

import typer

from novel_events.errors import InvalidInput
from novel_events.names import user_deployment_full_name
from novel_events.settings import Settings, load_settings


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.command("up")(up)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@contextmanager
def _stack(
    settings: Settings, *, port: int, worker_limit: int, poll: float, worker_type: str = "novel-events"
) -> Iterator[str]:
    """Server + worker for the duration of the block; yields the API URL."""
    from cli.processes import free_port, start_server, start_worker

    prefect_home = settings.home / "prefect"
    use_port = port if _port_free(port) else free_port()
    typer.echo(f"starting Prefect server (SQLite in {prefect_home}) on 127.0.0.1:{use_port} …")
    server, api = start_server(prefect_home, port=use_port, ui=True, secrets_dir=settings.home / "secrets")
    stack = ExitStack()
    worker = None
    try:
        from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

        stack.enter_context(
            temporary_settings(
                updates={PREFECT_API_URL: api, PREFECT_API_AUTH_STRING: server.client_env["PREFECT_API_AUTH_STRING"]}
            )
        )
        _bootstrap(settings, worker_type)
        # local iCal sources: the operator's ICS_ROOT, else the demo's own samples folder
        ics_root = settings.ics_root or settings.home / "samples"
        worker = start_worker(
            api,
            settings.work_pool,
            settings.home / "worker.log",
            limit=worker_limit,
            poll_seconds=poll,
            env={"NOVEL_EVENTS_HOME": str(settings.home), "NOVEL_EVENTS_ICS_ROOT": str(ics_root), **server.client_env},
            kind=worker_type,
        )
        typer.echo(
            f"{worker_type} worker started (pool {settings.work_pool!r}, limit {worker_limit}); log: {worker.log}"
        )
        yield api
    finally:
        stack.close()
        typer.echo("stopping worker and server …")
        if worker is not None:
            worker.stop()
        server.stop()


def _bootstrap(settings: Settings, worker_type: str = "novel-events") -> None:
    from deployments.bootstrap import init
    from deployments.pool import PoolKind
    from deployments.sync import sync

    kind: PoolKind = "process" if worker_type == "process" else "novel-events"
    for line in asyncio.run(init(settings, pool_type=kind)).lines:
        typer.echo(f"  {line}")
    typer.echo(f"  sync: {asyncio.run(sync(settings)).summary()}")


def _add_samples(settings: Settings) -> list[str]:
    from novel_events.errors import InvalidInput
    from novel_events.models import User
    from novel_events.samples import PEOPLE, build_ics
    from novel_events.schedules import Schedule
    from novel_events.store import UserStore
    from tasks.store import ready_engine

    store = UserStore(ready_engine(settings))
    folder = settings.home / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for p in PEOPLE:
        path = folder / f"{p.user_id}.ics"
        path.write_bytes(build_ics(p, dt.date.today()))
        user = User(
            id=p.user_id,
            email=p.email,
            schedule=Schedule.parse(p.schedule, p.at, p.timezone, p.day),
            source=f"ics:{path}",
            send_when_empty=True,
        )
        try:
            store.add(user)
        except InvalidInput:
            store.save(user)
        ids.append(p.user_id)
        typer.echo(f"  user {p.user_id:<6} {user.schedule.describe():<40} calendar {path}")
    return ids


def _wait_runs(run_ids: list, timeout: float) -> dict:
    from prefect import get_client

    async def poll() -> dict:
        deadline = time.monotonic() + timeout
        async with get_client() as client:
            while True:
                runs = {rid: await client.read_flow_run(rid) for rid in run_ids}
                if all(r.state and r.state.is_final() for r in runs.values()) or time.monotonic() > deadline:
                    return runs
                await asyncio.sleep(1)

    return asyncio.run(poll())


def _wait_logs(run_ids: list, timeout: float = 60.0) -> int:
    """Wait until every run's own last log line ("Finished in state …") reached the server; returns the
    number of runs whose logs are complete. A run's process ships its logs in batches after it ends, so
    stopping the server as soon as the states are final would lose them."""
    from prefect import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async def poll() -> int:
        deadline = time.monotonic() + timeout
        async with get_client() as client:
            while True:
                logs = await client.read_logs(
                    log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=run_ids)), limit=200
                )
                done = {log.flow_run_id for log in logs if "Finished in state" in log.message}
                if len(done) >= len(run_ids) or time.monotonic() > deadline:
                    return len(done)
                await asyncio.sleep(1)

    return asyncio.run(poll())


def demo(
    port: int = typer.Option(4200, "--port", help="Prefect server port (another free one if taken)"),
    keep: bool | None = typer.Option(
        None,
        "--keep/--no-keep",
        help="keep the server, UI and worker up afterwards until Ctrl-C (default: when run from a terminal)",
    ),
    timeout: float = typer.Option(300, "--timeout", help="seconds to wait for the digests"),
) -> None:
    """End to end on embedded defaults: server, pool, 3 sample users, worker, one digest each; then the UI
    stays up until Ctrl-C."""
    import sys

    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    typer.echo(f"novel-events demo — state in {settings.home}")
    typer.echo("adding sample users:")
    ids = _add_samples(settings)
    with _stack(settings, port=port, worker_limit=4, poll=2.0) as api:
        runs = []
        for uid in ids:
            fr = cast(
                FlowRun,
                run_deployment(
                    name=user_deployment_full_name(uid),
                    parameters={"user_id": uid, "manual": True},
                    timeout=0,
                    tags=["demo"],
                ),
            )
            runs.append(fr.id)
            typer.echo(f"  triggered {fr.name} for {uid}")
        typer.echo("waiting for the worker to run the digests …")
        final = _wait_runs(runs, timeout)
        ok = True
        for uid, rid in zip(ids, runs, strict=True):
            r = final[rid]
            ok &= bool(r.state and r.state.is_completed())
            typer.echo(f"  {uid:<6} {r.state_name}: {r.state.message if r.state else ''}")
        complete = _wait_logs(runs)
        if complete < len(runs):
            typer.echo(
                f"  (logs of {len(runs) - complete} run(s) still on their way; see {settings.home / 'worker.log'})"
            )
        outbox = settings.outbox
        typer.echo(f"\nemails in {outbox}:")
        for f in sorted(outbox.glob("*.eml")):
            typer.echo(f"  {f}")
        ui = api.removesuffix("/api")
        typer.echo(
            f"\nPrefect UI: {ui}   (runs: {ui}/runs, each with its logs and a summary under Artifacts; "
            f"it asks for the auth string in {settings.home / 'secrets' / 'prefect-api-auth'})"
        )
        if keep if keep is not None else sys.stdin.isatty():
            _serve_forever()
        else:
            typer.echo(
                f"to look again: NOVEL_EVENTS_HOME={settings.home} novel-events up   (or `make up`): "
                "the same server state, with these runs, logs and artifacts"
            )
        if not ok:
            raise typer.Exit(1)


def _serve_forever() -> None:
    typer.echo("server, UI and worker are up; press Ctrl-C to stop (state is kept: `novel-events up` reopens it)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def up(
    port: int = typer.Option(4200, "--port"),
    worker_limit: int = typer.Option(4, "--worker-limit", help="concurrent runs (keep ≤4 on SQLite)"),
    web_port: int = typer.Option(8080, "--web-port", help="port of the web app (sign-up, settings, /api/v1)"),
    worker_type: str = typer.Option(
        "novel-events", "--worker-type", help="novel-events (warm forked runs) | process (Prefect's stock worker)"
    ),
) -> None:
    """Run server + worker (scheduler included) + web app for real use until Ctrl-C."""
    import os

    from cli.processes import WORKER_KINDS, start_web
    from cli.webcmd import local_web_env

    if worker_type not in WORKER_KINDS:
        raise InvalidInput("--worker-type", f"{worker_type!r} is not one of: {', '.join(WORKER_KINDS)}")
    os.environ.update(local_web_env(load_settings().home, web_port))  # the worker signs email links too
    settings = load_settings()
    with _stack(settings, port=port, worker_limit=worker_limit, poll=5.0, worker_type=worker_type) as api:
        from cli.server_secrets import AUTH_FILE

        web = start_web(api, settings.home / "web.log", port=web_port, env={"NOVEL_EVENTS_HOME": str(settings.home)})
        try:
            typer.echo(f"Prefect UI: {api.removesuffix('/api')}   API: {api}")
            typer.echo(f"web app: {settings.public_url}   (API docs: {settings.public_url}/docs); log: {web.log}")
            typer.echo(
                f"in another shell: export PREFECT_API_URL={api} NOVEL_EVENTS_HOME={settings.home} "
                f"PREFECT_API_AUTH_STRING=$(cat {settings.home / 'secrets' / AUTH_FILE})"
            )
            _serve_forever()
        finally:
            web.stop()


__all__ = ["demo", "register", "up"]
