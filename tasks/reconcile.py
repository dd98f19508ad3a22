"""Make Prefect match the desired :class:`JobSpec`\\ s: create, update, pause, resume, delete.

Only deployments tagged ``novel-events`` are managed. A spec whose Prefect twin already matches is
not written at all, so a no-op sync makes no writes and a one-user change writes one deployment.
Prefect's ``create_deployment`` is an upsert that replaces every field: we always send every field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from prefect import get_client, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.actions import DeploymentScheduleCreate
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags, FlowFilter, FlowFilterName
from prefect.client.schemas.objects import ConcurrencyLimitStrategy, ConcurrencyOptions
from prefect.client.schemas.responses import DeploymentResponse
from prefect.client.schemas.schedules import CronSchedule

from novel_events.jobs import TAG, JobSpec

PAGE = 200
# Two writers: on a SQLite-backed server more parallel upserts only add "database is locked" retries
# (measured, docs/sync-benchmark.md); on PostgreSQL the server's CPU is the limit either way.
PARALLEL_WRITES = 2


@dataclass
class Change:
    action: str  # created | updated | paused | resumed | deleted
    name: str
    detail: str = ""


@dataclass
class Report:
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    dry_run: bool = False
    failed: list[Change] = field(default_factory=list)  # writes the server refused; the next sync retries

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def summary(self) -> str:
        parts = [f"{self.count(a)} {a}" for a in ("created", "updated", "paused", "resumed", "deleted")]
        verb = "would change" if self.dry_run else "changed"
        head = "nothing to do, " if not self.changes and not self.failed else ""
        tail = f", {len(self.failed)} FAILED (run sync again)" if self.failed else ""
        return f"{head}{', '.join(parts)}, {self.unchanged} unchanged ({verb} {len(self.changes)}){tail}"


def actual_comparable(d: DeploymentResponse) -> dict[str, Any]:
    """The JobSpec.comparable() view of a deployment Prefect holds."""
    cron: str | None = None
    tz: str | None = None
    active = [s for s in d.schedules if s.active]
    if len(d.schedules) == 1 and len(active) == 1 and isinstance(active[0].schedule, CronSchedule):
        cron, tz = active[0].schedule.cron, active[0].schedule.timezone or "UTC"
    elif d.schedules:
        cron = "<other schedules>"
    limit = d.global_concurrency_limit.limit if d.global_concurrency_limit else None
    collision = d.concurrency_options.collision_strategy.value if d.concurrency_options and limit else None
    return {
        "entrypoint": d.entrypoint,
        "work_pool": d.work_pool_name,
        "cron": cron,
        "timezone": tz,
        "parameters": d.parameters,
        "tags": sorted(d.tags),
        "paused": d.paused,
        "concurrency_limit": limit,
        "collision": collision,
        "description": d.description or "",
    }


async def read_managed(client: PrefectClient, flow_names: list[str]) -> dict[str, DeploymentResponse]:
    """``flow/deployment`` -> deployment, for every deployment tagged ``novel-events``."""
    flows = await client.read_flows(flow_filter=FlowFilter(name=FlowFilterName(any_=flow_names)))
    names = {f.id: f.name for f in flows}
    found: dict[str, DeploymentResponse] = {}
    offset = 0
    while True:
        page = await client.read_deployments(
            deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[TAG])), limit=PAGE, offset=offset
        )
        for d in page:
            if d.flow_id not in names:  # a flow no spec names any more (e.g. its last user was removed)
                names[d.flow_id] = (await client.read_flow(d.flow_id)).name
            found[f"{names[d.flow_id]}/{d.name}"] = d
        if len(page) < PAGE:
            return found
        offset += PAGE


def _diff(spec: JobSpec, have: DeploymentResponse, schema: dict[str, Any] | None) -> list[str]:
    want, got = spec.comparable(), actual_comparable(have)
    changed = [k for k in want if want[k] != got[k]]
    if schema is not None and have.parameter_openapi_schema != schema:
        changed.append("parameter schema")  # the flow's signature changed: the run form/validation must follow
    return changed


async def _upsert(client: PrefectClient, spec: JobSpec, flow_id: UUID, schema: dict[str, Any] | None) -> None:
    schedules = (
        [DeploymentScheduleCreate(schedule=CronSchedule(cron=spec.cron, timezone=spec.timezone), active=True)]
        if spec.cron
        else []
    )
    await client.create_deployment(
        flow_id=flow_id,
        name=spec.name,
        entrypoint=spec.entrypoint,
        work_pool_name=spec.work_pool,
        parameters=spec.parameters,
        tags=list(spec.tags),
        schedules=schedules,
        paused=spec.paused,
        concurrency_limit=spec.concurrency_limit,
        concurrency_options=(
            ConcurrencyOptions(collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
            if spec.concurrency_limit and spec.cancel_new_on_collision
            else None
        ),
        description=spec.description,
        parameter_openapi_schema=schema,
        enforce_parameter_schema=schema is not None,
        job_variables={},
        pull_steps=[],
    )


async def reconcile(
    specs: list[JobSpec],
    *,
    dry_run: bool = False,
    schemas: dict[str, dict[str, Any]] | None = None,
    client: PrefectClient | None = None,
) -> Report:
    """Apply ``specs``; ``schemas`` maps flow name -> parameter OpenAPI schema for the UI's run form."""
    if client is None:
        async with get_client() as own:
            return await reconcile(specs, dry_run=dry_run, schemas=schemas, client=own)
    flow_names = sorted({s.flow_name for s in specs})
    existing = await read_managed(client, flow_names)
    report = Report(dry_run=dry_run)
    writes: list[tuple[JobSpec, Change]] = []
    wanted = {s.full_name for s in specs}
    for spec in specs:
        have = existing.get(spec.full_name)
        if have is None:
            writes.append((spec, Change("created", spec.full_name, spec.cron or "")))
            continue
        changed = _diff(spec, have, (schemas or {}).get(spec.flow_name))
        if not changed:
            report.unchanged += 1
        elif changed == ["paused"]:
            writes.append((spec, Change("paused" if spec.paused else "resumed", spec.full_name)))
        else:
            writes.append((spec, Change("updated", spec.full_name, ", ".join(changed))))
    deletes = [(name, d) for name, d in sorted(existing.items()) if name not in wanted]
    planned = [c for _, c in writes] + [Change("deleted", name) for name, _ in deletes]
    if dry_run or not planned:
        report.changes = planned
        return report
    flow_ids = {name: await client.create_flow_from_name(name) for name in {s.flow_name for s, _ in writes}}
    gate = asyncio.Semaphore(PARALLEL_WRITES)

    async def attempt(change: Change, operation: Callable[[], Awaitable[None]]) -> None:
        """One write; a refusal is reported, not raised, so the other writes still happen."""
        async with gate:
            try:
                await operation()
            except Exception as exc:
                report.failed.append(Change("failed", change.name, f"{change.action}: {type(exc).__name__}"))
            else:
                report.changes.append(change)

    def write(spec: JobSpec, change: Change) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if change.action in {"paused", "resumed"}:
                d = existing[spec.full_name]
                await (client.pause_deployment(d.id) if spec.paused else client.resume_deployment(d.id))
            else:
                await _upsert(client, spec, flow_ids[spec.flow_name], (schemas or {}).get(spec.flow_name))
        return run

    def delete(d: DeploymentResponse) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await client.delete_deployment(d.id)
        return run

    await asyncio.gather(
        *(attempt(c, write(s, c)) for s, c in writes),
        *(attempt(Change("deleted", name), delete(d)) for name, d in deletes),
    )
    order = {c.name: i for i, c in enumerate(planned)}
    report.changes.sort(key=lambda c: order.get(c.name, 0))
    return report


@task(name="reconcile-deployments", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
async def reconcile_task(specs: list[JobSpec], schemas: dict[str, dict[str, Any]] | None = None) -> Report:
    report = await reconcile(specs, schemas=schemas)
    get_run_logger().info("reconcile: %s", report.summary())
    return report
