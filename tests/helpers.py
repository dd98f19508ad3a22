"""Small helpers shared by the Prefect-backed tests."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.objects import FlowRun

from cli.app import main


def add_user(uid: str, *extra: str, tz: str = "Europe/Berlin", schedule: str = "daily", at: str = "07:30",
             source: str | None = None) -> None:
    args = ["users", "add", uid, "--email", f"{uid}@example.org", "--timezone", tz, "--schedule", schedule,
            "--at", at, *extra]
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
