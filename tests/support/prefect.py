"""Helpers for the tests that talk to the session's Prefect server (fixtures in tests/conftest.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

from prefect import get_client
from prefect.client.schemas.objects import FlowRun

from cli.app import main


def add_user(
    uid: str,
    *extra: str,
    tz: str = "Europe/Berlin",
    schedule: str = "daily",
    at: str | None = None,
    source: str | None = None,
) -> None:
    if at is None:  # 12 h from now in the user's zone: their own schedule never fires a run during the test
        at = (dt.datetime.now(ZoneInfo(tz)) + dt.timedelta(hours=12)).strftime("%H:%M")
    args = [
        "users",
        "add",
        uid,
        "--email",
        f"{uid}@example.org",
        "--timezone",
        tz,
        "--schedule",
        schedule,
        "--at",
        at,
        *extra,
    ]
    if source:
        args += ["--source", source]
    assert main(args) == 0


def wait_final(run_id: UUID, timeout: float = 180.0) -> FlowRun:
    async def poll() -> FlowRun:
        deadline = time.monotonic() + timeout
        async with get_client() as client:
            while True:
                run = await client.read_flow_run(run_id)
                if run.state and run.state.is_final():
                    return run
                if time.monotonic() > deadline:
                    raise AssertionError(f"flow run {run_id} not final after {timeout}s: {run.state_name}")
                await asyncio.sleep(0.5)

    return asyncio.run(poll())


def emails_for(outbox: Path, uid: str) -> list[Path]:
    return sorted(outbox.glob(f"*-{uid}-*.eml"))


def deploy_on_own_pool(uid: str, pool: str, kind: str = "novel-events") -> UUID:
    """Put one user's digest deployment on its own pool, so a test can give it its own worker/settings.

    (The next `sync` moves it back to the default pool.)
    """
    from deployments.pool import ensure_pool
    from novel_events.jobs import digest_spec
    from novel_events.settings import load_settings
    from novel_events.store import UserStore, make_engine
    from tasks.reconcile import upsert

    user = UserStore(make_engine(load_settings().store_url)).get(uid)

    async def deploy() -> UUID:
        async with get_client() as client:
            await ensure_pool(client, pool, kind="process" if kind == "process" else "novel-events")
            flow_id = await client.create_flow_from_name("novel-events-digest")
            await upsert(client, digest_spec(user, pool), flow_id, None)
            return (await client.read_deployment_by_name(f"novel-events-digest/user-{uid}")).id

    return asyncio.run(deploy())


def create_scheduled_run(deployment_id: UUID, uid: str, at: object) -> UUID:
    from prefect.states import Scheduled

    async def create() -> UUID:
        async with get_client() as client:
            run = await client.create_flow_run_from_deployment(
                deployment_id, parameters={"user_id": uid}, state=Scheduled(scheduled_time=at)
            )  # type: ignore[arg-type]
            return run.id

    return asyncio.run(create())
