"""Catch-up window with a worker that was down at the scheduled times: too late -> missed, else sent."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

import pytest

from cli.processes import start_worker
from novel_events.samples import PEOPLE, build_ics
from novel_events.settings import load_settings
from novel_events.store import Ledger, Status, make_engine
from tasks.recovery import recover_stuck
from tests.support.env import unique_id
from tests.support.prefect import add_user, create_scheduled_run, deploy_on_own_pool, emails_for, wait_final

pytestmark = pytest.mark.e2e


def _runs_of(uid: str, tag: str) -> list:  # type: ignore[type-arg]
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    async def read() -> list:  # type: ignore[type-arg]
        async with get_client() as client:
            return await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"user:{uid}", tag]))
            )

    return asyncio.run(read())


def test_worker_down_at_the_scheduled_times(initialized: str, session_home: Path) -> None:
    uid = unique_id("late")
    ics = session_home / f"{uid}.ics"
    ics.write_bytes(build_ics(PEOPLE[0], dt.date.today()))
    add_user(uid, source=f"ics:{ics}")
    pool = f"late-{uuid.uuid4().hex[:8]}"
    dep = deploy_on_own_pool(uid, pool)  # a pool with no worker yet: the worker is "down"
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    too_late = now - dt.timedelta(hours=2, minutes=5)  # CATCHUP_WINDOW is 2 h
    in_time = now - dt.timedelta(hours=1, minutes=55)
    runs = [create_scheduled_run(dep, uid, at) for at in (too_late, in_time)]

    worker = start_worker(
        initialized, pool, session_home / f"{pool}.log", poll_seconds=1, env={"NOVEL_EVENTS_HOME": str(session_home)}
    )
    try:
        late, on_time = (wait_final(r) for r in runs)
        # Picked up together, the two runs of one user may collide (one run per user at a time): the
        # later-submitted one is cancelled. The maintenance sweep re-runs a cancelled slot that is still
        # within the catch-up window, never one past it.
        assert late.state is not None and on_time.state is not None
        collided = [r for r in (late, on_time) if r.state.is_cancelled()]  # type: ignore[union-attr]
        assert all("concurrency limit" in (r.state.message or "") for r in collided)  # type: ignore[union-attr]
        report = asyncio.run(recover_stuck(load_settings()))
        mine = [x for x in report.rescheduled if uid in x]
        if on_time.state.is_cancelled():
            (line,) = mine
            assert in_time.strftime("%Y-%m-%dT%H:%MZ") in line and "cancelled on collision" in line
            on_time = wait_final(_runs_of(uid, tag="recovery")[0].id)
        else:
            assert mine == []  # the too-late slot is never re-run
        assert asyncio.run(recover_stuck(load_settings())).rescheduled == []  # once only
    finally:
        worker.stop(grace=5)
    assert on_time.state is not None and "sent" in (on_time.state.message or ""), on_time.state
    ledger = Ledger(make_engine(load_settings().store_url))
    assert ledger.get(uid, in_time.strftime("%Y-%m-%dT%H:%MZ")).status is Status.SENT  # type: ignore[union-attr]
    late_row = ledger.get(uid, too_late.strftime("%Y-%m-%dT%H:%MZ"))
    if late.state.is_completed():  # type: ignore[union-attr]
        assert "missed" in (late.state.message or "") and late_row is not None  # type: ignore[union-attr]
        assert late_row.status is Status.MISSED
    else:  # cancelled on the collision, past its window: the sweep records it missed (and alerts), once
        assert late_row is not None and late_row.status is Status.MISSED
        assert "catch-up window" in (late_row.detail or "")
    assert len(emails_for(load_settings().outbox, uid)) == 1
