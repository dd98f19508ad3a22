"""``novel-events init``: store schema, the store block, the work pool. Idempotent."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from prefect import get_client

from deployments.automations import ensure_automations, ensure_zombie_automation
from deployments.limits import ensure_limits
from deployments.pool import PoolKind, ensure_pool
from deployments.worker import WORKER_TYPE
from novel_events.settings import Settings
from novel_events.store import upgrade
from tasks import store
from tasks.credentials import ensure_state_key


@dataclass
class InitReport:
    lines: list[str] = field(default_factory=list)


async def init(settings: Settings, *, pool_limit: int | None = None, pool_type: PoolKind = WORKER_TYPE) -> InitReport:
    report = InitReport()
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.outbox.mkdir(parents=True, exist_ok=True)
    before, after = upgrade(store.store_engine(settings))
    what = "created" if before is None else "up to date" if before == after else f"upgraded from {before}"
    report.lines.append(f"store: schema {after} ({what})")
    await store.connector_for(settings).save(store.BLOCK_NAME, overwrite=True)
    report.lines.append(f"block: SqlAlchemyConnector '{store.BLOCK_NAME}' saved")
    async with get_client() as client:
        state = await ensure_pool(client, settings.work_pool, kind=pool_type, concurrency_limit=pool_limit)
        report.lines.append(f"work pool: '{settings.work_pool}' {state}")
        report.lines.extend(await ensure_limits(client))
        report.lines.extend(await ensure_automations(client, settings))
        report.lines.extend(await ensure_zombie_automation(client))
    report.lines.append(f"secret: sync-state key {await asyncio.to_thread(ensure_state_key)}")
    return report
