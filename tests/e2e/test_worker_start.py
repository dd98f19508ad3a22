"""`prefect worker start --pool POOL`, run the way an operator's systemd unit runs it: the virtualenv's
`prefect` by absolute path, from `/`, with a bare PATH (no virtualenv on it) and no other flags. Both pool
kinds `init` can make (the project's `novel-events` worker type, Prefect's stock `process` type) run digests."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from cli.processes import Child
from novel_events.samples import PEOPLE, build_ics
from novel_events.settings import load_settings
from tests.support.env import unique_id
from tests.support.prefect import add_user, create_scheduled_run, deploy_on_own_pool, emails_for, wait_final

pytestmark = pytest.mark.e2e
BARE_PATH = "/usr/bin:/bin"


def _start_like_systemd(api: str, pool: str, home: Path, log: Path) -> Child:
    prefect = Path(sys.executable).parent / "prefect"
    assert prefect.is_absolute()
    env = {
        "PATH": BARE_PATH,
        "PREFECT_API_URL": api,
        "NOVEL_EVENTS_HOME": str(home),
        "NOVEL_EVENTS_MAINTENANCE_EVERY_MINUTES": "0",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # the server wants its auth string; local feeds are read inside ICS_ROOT only
        "PREFECT_API_AUTH_STRING": os.environ["PREFECT_API_AUTH_STRING"],
        "NOVEL_EVENTS_ICS_ROOT": os.environ["NOVEL_EVENTS_ICS_ROOT"],
    }
    out = open(log, "ab")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(
        [str(prefect), "worker", "start", "--pool", pool],
        env=env,
        cwd="/",
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    out.close()
    return Child(f"worker-{pool}", proc, log)


@pytest.mark.parametrize("kind", ["novel-events", "process"])
def test_bare_path_worker_runs_digests(initialized: str, session_home: Path, kind: str) -> None:
    # the bare PATH really has no interpreter with Prefect on it (the old `python -m prefect.engine` failed here)
    python = shutil.which("python", path=BARE_PATH) or shutil.which("python3", path=BARE_PATH)
    if python:
        probe = subprocess.run([python, "-c", "import prefect"], capture_output=True, env={"PATH": BARE_PATH})
        assert probe.returncode != 0, f"{python} imports prefect: the test would not show the defect"
    uid = unique_id("bare")
    ics = session_home / f"{uid}.ics"
    ics.write_bytes(build_ics(PEOPLE[0], dt.date.today()))
    add_user(uid, source=f"ics:{ics}")
    pool = f"bare-{kind[:4]}-{uuid.uuid4().hex[:8]}"
    dep = deploy_on_own_pool(uid, pool, kind=kind)
    slot_at = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    worker = _start_like_systemd(initialized, pool, session_home, session_home / f"{pool}.log")
    try:
        run = wait_final(create_scheduled_run(dep, uid, slot_at))
        assert run.state is not None and run.state.is_completed(), (run.state, worker.tail())
        assert "sent; 3 novel events" in (run.state.message or "")
        assert len(emails_for(load_settings().outbox, uid)) == 1
        assert f"type {kind!r}" in worker.log.read_text()  # the type came from the pool, not a flag
    finally:
        worker.stop(grace=10)


def test_init_makes_a_novel_events_pool_and_fixes_an_old_one(initialized: str) -> None:
    import asyncio

    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from deployments.pool import ensure_pool, pool_template

    old_pool = f"old-{uuid.uuid4().hex[:8]}"
    old_template = pool_template("process")
    old_template["variables"]["properties"]["command"]["default"] = "python -m prefect.engine"

    async def check() -> None:
        async with get_client() as client:
            default = await client.read_work_pool(load_settings().work_pool)
            assert default.type == "novel-events"
            await client.create_work_pool(WorkPoolCreate(name=old_pool, type="process", base_job_template=old_template))
            report = await ensure_pool(client, old_pool)
            assert "updated" in report and "kept type 'process'" in report
            fixed = await client.read_work_pool(old_pool)
            assert fixed.type == "process"
            assert fixed.base_job_template["variables"]["properties"]["command"].get("default") is None
            assert "unchanged" in await ensure_pool(client, old_pool)  # idempotent

    asyncio.run(check())
