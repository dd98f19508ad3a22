"""`novel-events init` is idempotent: a second run changes nothing and says so."""

from __future__ import annotations

import asyncio

import pytest
from prefect import get_client
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from deployments.bootstrap import init
from novel_events.settings import load_settings
from novel_events.store.migrate import head_revision
from tests.support.env import HEARTBEAT_SECONDS

pytestmark = pytest.mark.e2e


def test_second_init_changes_nothing(initialized: str) -> None:
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: HEARTBEAT_SECONDS}):
        lines = asyncio.run(init(load_settings())).lines
    text = "\n".join(lines)
    assert f"store: schema {head_revision()} (up to date)" in text
    assert "work pool: 'novel-events' (novel-events) unchanged" in text
    assert "limit: novel-events-google-api unchanged" in text and "limit: novel-events-sends unchanged" in text
    assert "secret: sync-state key exists" in text
    assert f"automation: novel-events-zombie-runs unchanged (crashed after {3 * HEARTBEAT_SECONDS}s" in text

    async def read():  # type: ignore[no-untyped-def]
        async with get_client() as client:
            pool = await client.read_work_pool("novel-events")
            zombies = await client.read_automations_by_name("novel-events-zombie-runs")
            return pool, zombies

    pool, zombies = asyncio.run(read())
    assert pool.type == "novel-events"
    # the pool names no interpreter (a worker started by absolute path with a bare PATH resolves its own)
    assert not pool.base_job_template["variables"]["properties"]["command"].get("default")
    (zombie,) = zombies
    assert zombie.trigger.within.total_seconds() == 3 * HEARTBEAT_SECONDS  # type: ignore[union-attr]
    assert zombie.actions[0].type == "change-flow-run-state"
