"""Kill the worker mid-send: the slot is left 'sending', the maintenance sweep re-runs the same slot,
and the re-send carries the same Message-ID; nothing is sent a third time."""

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

from cli.processes import Child, start_worker
from novel_events.samples import PEOPLE, build_ics
from novel_events.settings import load_settings
from novel_events.store import Ledger, Status, make_engine
from tasks.recovery import recover_stuck
from tests.fakes.smtp_server import FakeSmtpServer
from tests.support.env import HEARTBEAT_SECONDS, unique_id
from tests.support.prefect import add_user, create_scheduled_run, deploy_on_own_pool, wait_final

pytestmark = pytest.mark.e2e
CLAIM_TIMEOUT = "5"


@pytest.fixture
def smtp() -> Iterator[FakeSmtpServer]:
    server = FakeSmtpServer().start()
    yield server
    server.stop()


def _kill_run_processes(run_id: str) -> None:
    """SIGKILL every process running this flow run (found by the env var Prefect gives it)."""
    needle = f"PREFECT__FLOW_RUN_ID={run_id}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                os.kill(int(pid), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


def _until(what: str, check, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def _of(uid: str, rescheduled: list[str]) -> list[str]:
    """This test's lines of a sweep's report (the sweep sees every user on the shared server)."""
    return [line for line in rescheduled if line.startswith(f"{uid} ")]


def test_worker_killed_mid_send(
    initialized: str, session_home: Path, smtp: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVEL_EVENTS_SEND_CLAIM_TIMEOUT", CLAIM_TIMEOUT)
    monkeypatch.setenv("NOVEL_EVENTS_RETRY_BACKOFF", "5")
    settings = load_settings()
    uid = unique_id("crash")
    ics = session_home / f"{uid}.ics"
    ics.write_bytes(build_ics(PEOPLE[1], dt.date.today()))
    add_user(uid, tz="America/New_York", source=f"ics:{ics}")
    pool = f"crash-{uuid.uuid4().hex[:8]}"
    dep_id = deploy_on_own_pool(uid, pool)
    env = {
        "NOVEL_EVENTS_HOME": str(session_home),
        "NOVEL_EVENTS_EMAIL_BACKEND": "smtp",
        "NOVEL_EVENTS_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
        "NOVEL_EVENTS_SEND_CLAIM_TIMEOUT": CLAIM_TIMEOUT,
    }
    slot_at = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    slot = slot_at.strftime("%Y-%m-%dT%H:%MZ")
    ledger = Ledger(make_engine(settings.store_url))

    def create_run() -> UUID:
        return create_scheduled_run(dep_id, uid, slot_at)

    smtp.delay_next("AFTER_DATA", 300)  # the relay stores the message, then never answers
    workers: list[Child] = []
    try:
        workers.append(start_worker(initialized, pool, session_home / f"{pool}-1.log", poll_seconds=1, env=env))
        run1 = create_run()
        _until("the message to reach the relay", lambda: len(smtp.messages) == 1)
        d = ledger.get(uid, slot)
        assert d is not None and d.status is Status.SENDING
        os.killpg(workers[0].proc.pid, signal.SIGKILL)
        _kill_run_processes(str(run1))
        workers[0].proc.wait(10)

        # The zombie automation (made by `init`) marks the dead run Crashed once its heartbeats stop,
        # which also releases its deployment-concurrency slot.
        async def state_of_run1() -> str | None:
            async with get_client() as client:
                return (await client.read_flow_run(run1)).state_name  # type: ignore[arg-type]

        _until(
            "the zombie automation to mark the run Crashed",
            lambda: asyncio.run(state_of_run1()) == "Crashed",
            timeout=4 * HEARTBEAT_SECONDS + 60,
        )

        # the sweep waits for the dead run's deployment-concurrency lease, then re-runs the slot once
        rescheduled: list[str] = []

        def sweep() -> bool:
            rescheduled.extend(_of(uid, asyncio.run(recover_stuck(load_settings())).rescheduled))
            return bool(rescheduled)

        _until("a recovery run", sweep, timeout=120)
        assert len(rescheduled) == 1 and slot in rescheduled[0]
        assert _of(uid, asyncio.run(recover_stuck(load_settings())).rescheduled) in ([], rescheduled)  # idempotent

        workers.append(start_worker(initialized, pool, session_home / f"{pool}-2.log", poll_seconds=1, env=env))
        _until("the re-send", lambda: (ledger.get(uid, slot) or d).status is Status.SENT, timeout=180)
        first, second = smtp.messages
        assert first.message["Message-ID"] == second.message["Message-ID"]
        assert first.message["Subject"] == second.message["Subject"]

        # the slot is done: neither another sweep nor another run for it sends again
        assert _of(uid, asyncio.run(recover_stuck(load_settings())).rescheduled) == []
        again = wait_final(create_run())  # type: ignore[arg-type]
        assert "already sent" in (again.state.message or "")  # type: ignore[union-attr]
        assert len(smtp.messages) == 2
    finally:
        for w in workers:
            w.stop(grace=5)


def test_a_run_that_died_before_its_first_heartbeat_is_crashed_and_frees_its_slot(
    initialized: str, session_home: Path
) -> None:
    """A run killed between Running and its first heartbeat (a one-second maintenance run, or a beat
    still queued) sends no beat at all: the zombie automation counts from Running, so it is crashed and
    its deployment's concurrency slot freed, instead of holding it until the 5-minute lease expires."""
    from prefect.states import Pending, Running

    uid = unique_id("nobeat")
    ics = session_home / f"{uid}.ics"
    ics.write_bytes(build_ics(PEOPLE[0], dt.date.today()))
    add_user(uid, source=f"ics:{ics}")
    dep_id = deploy_on_own_pool(uid, f"nobeat-{uuid.uuid4().hex[:8]}")  # no worker polls it
    run_id = create_scheduled_run(dep_id, uid, dt.datetime.now(dt.UTC))

    async def start_without_beating() -> int:
        async with get_client() as client:  # what a run's engine does first, then it "dies"
            for state in (Pending(), Running()):
                result = await client.set_flow_run_state(run_id, state)
                assert result.status.value == "ACCEPT", result
            dep = await client.read_deployment(dep_id)
            assert dep.global_concurrency_limit is not None
            return dep.global_concurrency_limit.active_slots

    async def now() -> tuple[str | None, str, int]:
        async with get_client() as client:
            run = await client.read_flow_run(run_id)
            dep = await client.read_deployment(dep_id)
            slots = dep.global_concurrency_limit.active_slots if dep.global_concurrency_limit else -1
            return run.state_name, (run.state.message if run.state else "") or "", slots

    assert asyncio.run(start_without_beating()) == 1  # it holds the user's slot
    _until(
        "the zombie automation to crash a run that never beat",
        lambda: asyncio.run(now())[0] == "Crashed",
        timeout=4 * HEARTBEAT_SECONDS + 60,
    )
    _, message, slots = asyncio.run(now())
    assert "No heartbeat" in message
    assert slots == 0  # the slot is free at once, not after the lease's 5 minutes


def test_mail_outage_ends_in_one_delivered_digest(
    initialized: str, session_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay is down when the slot fires: the run fails (will retry), the sweep re-runs the slot after
    its backoff, the relay is back by then: one email (from the cached extraction: the calendar is not
    fetched again), and further sweeps leave the slot alone."""
    monkeypatch.setenv("NOVEL_EVENTS_RETRY_BACKOFF", "3")
    uid = unique_id("outage")
    ics = session_home / f"{uid}.ics"
    ics.write_bytes(build_ics(PEOPLE[1], dt.date.today()))
    add_user(uid, tz="Europe/Paris", source=f"ics:{ics}")
    pool = f"outage-{uuid.uuid4().hex[:8]}"
    dep_id = deploy_on_own_pool(uid, pool)
    relay = FakeSmtpServer().start()
    port = relay.port
    relay.stop()  # the mail server is down
    env = {
        "NOVEL_EVENTS_HOME": str(session_home),
        "NOVEL_EVENTS_EMAIL_BACKEND": "smtp",
        "NOVEL_EVENTS_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "NOVEL_EVENTS_SMTP_TIMEOUT": "2",
    }
    slot_at = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    slot = slot_at.strftime("%Y-%m-%dT%H:%MZ")
    ledger = Ledger(make_engine(load_settings().store_url))
    worker = start_worker(initialized, pool, session_home / f"{pool}.log", poll_seconds=1, env=env)
    back = FakeSmtpServer(port=port)
    try:
        first = wait_final(create_scheduled_run(dep_id, uid, slot_at), timeout=240)
        assert first.state is not None and first.state.type.value == "FAILED"
        assert "will retry" in (first.state.message or "")
        d = ledger.get(uid, slot)
        assert d is not None and d.status is Status.RETRY  # nothing went out, and the ledger knows it
        ics.unlink()  # the re-run must not fetch again: its extraction is cached (sealed) per (user, slot)
        back.start()  # the mail server is back

        def delivered() -> bool:
            asyncio.run(recover_stuck(load_settings()))
            return (ledger.get(uid, slot) or d).status is Status.SENT

        _until("the re-run to deliver", delivered, timeout=240)
        assert len(back.messages) == 1
        assert _of(uid, asyncio.run(recover_stuck(load_settings())).rescheduled) == []
        time.sleep(2)
        assert len(back.messages) == 1
    finally:
        worker.stop(grace=5)
        back.stop()
