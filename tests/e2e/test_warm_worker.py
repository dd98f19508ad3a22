"""Runs of the `novel-events` worker type are forked from a warm parent, yet each stays its own process:
`kill -9` of one run marks it Crashed and frees the user's concurrency slot; cancelling it (what the UI does:
propose Cancelling) stops its process and ends the run Cancelled."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.states import Cancelling

from cli.processes import Child, start_worker
from novel_events.samples import PEOPLE, build_ics
from tests.fakes.smtp_server import FakeSmtpServer
from tests.support.env import unique_id
from tests.support.prefect import add_user, create_scheduled_run, deploy_on_own_pool, wait_final

pytestmark = pytest.mark.e2e


def _read(run_id: UUID) -> FlowRun:
    async def read() -> FlowRun:
        async with get_client() as client:
            return await client.read_flow_run(run_id)

    return asyncio.run(read())


def _until(what: str, check, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def smtp() -> Iterator[FakeSmtpServer]:
    server = FakeSmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def hanging_user(initialized: str, session_home: Path, smtp: FakeSmtpServer) -> Iterator[tuple[str, UUID, Child]]:
    """A user on its own pool with a warm worker whose mail goes to a relay we can make hang."""
    uid = unique_id("warm")
    ics = session_home / f"{uid}.ics"
    ics.write_bytes(build_ics(PEOPLE[0], dt.date.today()))
    add_user(uid, source=f"ics:{ics}")
    pool = f"warm-{uuid.uuid4().hex[:8]}"
    dep = deploy_on_own_pool(uid, pool)
    env = {
        "NOVEL_EVENTS_HOME": str(session_home),
        "NOVEL_EVENTS_EMAIL_BACKEND": "smtp",
        "NOVEL_EVENTS_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
    }
    worker = start_worker(initialized, pool, session_home / f"{pool}.log", poll_seconds=1, env=env)
    yield uid, dep, worker
    worker.stop(grace=5)


def _hanging_run(uid: str, dep: UUID, smtp: FakeSmtpServer, minutes_ago: int) -> tuple[UUID, int]:
    """A run stuck in the relay's reply; returns (run id, pid of its process)."""
    smtp.delay_next("AFTER_DATA", 300)
    sent = len(smtp.messages)
    at = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=minutes_ago)
    run_id = create_scheduled_run(dep, uid, at)
    _until("the message to reach the relay", lambda: len(smtp.messages) > sent)
    pid = int(str(_read(run_id).infrastructure_pid))
    assert _alive(pid)
    return run_id, pid


def test_kill_9_of_one_run_crashes_it_and_frees_the_slot(
    hanging_user: tuple[str, UUID, Child], smtp: FakeSmtpServer
) -> None:
    uid, dep, worker = hanging_user
    run_id, pid = _hanging_run(uid, dep, smtp, minutes_ago=3)
    assert pid != worker.proc.pid  # its own process, not the worker
    os.kill(pid, signal.SIGKILL)
    _until("the run to be Crashed", lambda: _read(run_id).state_name == "Crashed", timeout=60)
    assert worker.alive()  # the worker and its warm parent survive a run's death
    # the user's concurrency slot (limit 1, cancel-new on collision) is free: the next run is not cancelled
    nxt = wait_final(create_scheduled_run(dep, uid, dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)))
    assert nxt.state is not None and nxt.state.is_completed(), nxt.state
    assert "sent" in (nxt.state.message or "")


def test_cancelling_a_run_stops_its_process(hanging_user: tuple[str, UUID, Child], smtp: FakeSmtpServer) -> None:
    uid, dep, worker = hanging_user
    run_id, pid = _hanging_run(uid, dep, smtp, minutes_ago=7)

    async def cancel() -> None:
        async with get_client() as client:
            await client.set_flow_run_state(run_id, Cancelling(message="cancelled from the UI"))

    asyncio.run(cancel())
    final = wait_final(run_id, timeout=120)
    assert final.state is not None and final.state.is_cancelled(), final.state
    _until("the run's process to exit", lambda: not _alive(pid), timeout=60)
    assert worker.alive()


def _events(name: str, run_ids: list[UUID]) -> int:
    """How many ``name`` events the server stored that relate to one of ``run_ids``."""

    async def count() -> int:
        async with get_client() as client:
            response = await client.request(
                "POST",
                "/events/filter",  # type: ignore[arg-type]
                json={
                    "filter": {
                        "event": {"name": [name]},
                        "related": {"id": [f"prefect.flow-run.{r}" for r in run_ids]},
                        "occurred": {"since": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()},
                    },
                    "limit": 50,
                },
            )
            return len(response.json()["events"])

    return asyncio.run(count())


def test_runs_are_handed_the_sealing_key_instead_of_reading_its_block(
    hanging_user: tuple[str, UUID, Child], session_home: Path
) -> None:
    """The worker reads the key that seals cached extractions and hands it to the runs it forks: three digests
    seal their extractions with it, and none of them reads the Secret block (an API call and an event each)."""
    _, _, worker = hanging_user
    pool = worker.log.stem  # the fixture's pool, served by its warm worker
    uid = unique_id("sealed")
    ics = session_home / f"{uid}.ics"
    ics.write_bytes(build_ics(PEOPLE[2], dt.date.today()))
    add_user(uid, source=f"ics:{ics}")
    dep = deploy_on_own_pool(uid, pool)
    base = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    runs = []
    for i in range(3):  # one at a time: a user's runs do not overlap (deployment concurrency limit 1)
        runs.append(create_scheduled_run(dep, uid, base - dt.timedelta(minutes=11 + i)))
        final = wait_final(runs[-1])
        assert final.state is not None and final.state.is_completed(), final.state
    assert len(list((session_home / "cache").glob(f"extract-{uid}-*"))) == 3  # sealed with the handed key
    _until("the runs' events to be stored", lambda: _events("novel-events.digest.summary", runs) == 3, timeout=60)
    assert _events("prefect.block.secret.loaded", runs) == 0


def test_a_forked_runs_events_name_what_the_worker_handed_it_and_it_skips_submitting(
    hanging_user: tuple[str, UUID, Child], session_home: Path
) -> None:
    """The worker hands each run the deployment, flow, pool and queue it read (so the run does not read them
    again for its events): the run's events still name all four, and its states go Pending -> Running without
    the extra Pending("Submitting") Prefect's worker writes."""
    _, _, worker = hanging_user
    pool = worker.log.stem
    uid = unique_id("related")
    ics = session_home / f"{uid}.ics"
    ics.write_bytes(build_ics(PEOPLE[1], dt.date.today()))
    add_user(uid, source=f"ics:{ics}")
    dep = deploy_on_own_pool(uid, pool)
    run_id = create_scheduled_run(dep, uid, dt.datetime.now(dt.UTC).replace(second=0, microsecond=0))
    final = wait_final(run_id)
    assert final.state is not None and final.state.is_completed(), final.state

    async def read() -> tuple[list[str], set[str]]:
        async with get_client() as client:
            states = [s.name or "" for s in await client.read_flow_run_states(run_id)]
            response = await client.request(
                "POST",
                "/events/filter",  # type: ignore[arg-type]
                json={
                    "filter": {
                        "event": {"name": ["novel-events.digest.summary"]},
                        "related": {"id": [f"prefect.flow-run.{run_id}"]},
                        "occurred": {"since": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()},
                    },
                    "limit": 5,
                },
            )
            events = response.json()["events"]
            related = {r["prefect.resource.id"] for e in events for r in e["related"]}
            return states, related

    _until("the run's summary event to be stored", lambda: len(asyncio.run(read())[1]) > 0, timeout=60)
    states, related = asyncio.run(read())
    assert "Submitting" not in states and states[-2:] == ["Running", "Completed"], states
    assert f"prefect.deployment.{dep}" in related and f"prefect.flow.{final.flow_id}" in related
    assert f"prefect.work-queue.{final.work_queue_id}" in related
    assert any(r.startswith("prefect.work-pool.") for r in related), related


def test_a_poll_asks_for_the_free_slots_plus_one_limit_not_every_due_run(initialized: str, session_home: Path) -> None:
    """In a burst the stock worker's every poll reads 200 due runs to start one or two; ours asks for what it
    can take (free slots + its limit, for runs still being submitted or won by another worker)."""
    import anyio
    from prefect.workers.process import ProcessWorker

    from deployments.worker import NovelEventsWorker

    uid = unique_id("poll")
    ics = session_home / f"{uid}.ics"
    ics.write_bytes(build_ics(PEOPLE[1], dt.date.today()))
    add_user(uid, source=f"ics:{ics}")
    pool = f"poll-{uuid.uuid4().hex[:8]}"  # no worker serves it: its runs stay due
    dep = deploy_on_own_pool(uid, pool)
    base = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(hours=1)
    runs = [create_scheduled_run(dep, uid, base - dt.timedelta(minutes=i)) for i in range(12)]

    async def polled(kind: type[ProcessWorker], limit: int | None, busy: int) -> int:
        worker = kind(work_pool_name=pool, limit=limit)
        await worker.setup()  # client, limiter, registration: what `prefect worker start` does before polling
        try:
            limiter = worker._limiter
            for _ in range(busy):
                assert isinstance(limiter, anyio.CapacityLimiter)
                limiter.acquire_on_behalf_of_nowait(object())  # a slot held by a running digest
            return len(await worker._get_scheduled_flow_runs())
        finally:
            await worker.teardown(None, None, None)

    async def clean_up() -> None:
        async with get_client() as client:
            for run_id in runs:
                await client.delete_flow_run(run_id)

    try:
        assert asyncio.run(polled(NovelEventsWorker, 3, 0)) == 3 + 3
        assert asyncio.run(polled(NovelEventsWorker, 3, 2)) == 1 + 3
        assert asyncio.run(polled(NovelEventsWorker, None, 0)) == 12  # no limit: every due run, as stock
        assert asyncio.run(polled(ProcessWorker, 3, 0)) == 12  # the stock worker, for comparison
    finally:
        asyncio.run(clean_up())
