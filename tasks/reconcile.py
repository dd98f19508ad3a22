"""Make Prefect match the desired :class:`JobSpec`\\ s: read what Prefect has, plan, apply.

The decisions are a pure function (``novel_events/reconcile_plan.py``); this module only reads
deployments into snapshots and carries the plan out. Only deployments tagged ``novel-events`` are
managed. A spec whose Prefect twin already matches is not written at all, so a no-op sync makes no
writes and a one-user change writes one deployment.
Prefect's ``create_deployment`` is an upsert that replaces every field: we always send every field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
from prefect.exceptions import ObjectNotFound

from novel_events.jobs import JobSpec
from novel_events.names import TAG
from novel_events.reconcile_plan import Action, Change, Deployed, Plan, Report, Step, plan

PAGE = 200
# Two writers: on a SQLite-backed server more parallel upserts only add "database is locked" retries
# (measured, docs/sync-benchmark.md); on PostgreSQL the server's CPU is the limit either way.
PARALLEL_WRITES = 2


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


async def upsert(client: PrefectClient, spec: JobSpec, flow_id: UUID, schema: dict[str, Any] | None) -> None:
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


def snapshot(full_name: str, d: DeploymentResponse) -> Deployed:
    return Deployed(full_name, str(d.id), actual_comparable(d), d.parameter_openapi_schema)


async def apply(client: PrefectClient, steps: Sequence[Step], schemas: Mapping[str, dict[str, Any]]) -> Report:
    """Carry out ``steps`` (at most ``PARALLEL_WRITES`` at a time); a refused write is reported, not raised."""
    report = Report()
    flow_ids = {
        name: await client.create_flow_from_name(name)
        for name in sorted({s.spec.flow_name for s in steps if s.spec and s.action is not Action.DELETE})
    }
    gate = asyncio.Semaphore(PARALLEL_WRITES)

    async def one(step: Step) -> None:
        async with gate:
            try:
                if step.action is Action.DELETE:
                    assert step.deployed is not None
                    await client.delete_deployment(UUID(step.deployed.id))
                elif step.action in (Action.PAUSE, Action.RESUME):
                    assert step.deployed is not None
                    deployment_id = UUID(step.deployed.id)
                    await (
                        client.pause_deployment(deployment_id)
                        if step.action is Action.PAUSE
                        else client.resume_deployment(deployment_id)
                    )
                else:
                    assert step.spec is not None
                    spec = step.spec
                    await upsert(client, spec, flow_ids[spec.flow_name], schemas.get(spec.flow_name))
            except Exception as exc:
                report.failed.append(Change("failed", step.name, f"{step.action.value}: {type(exc).__name__}"))
            else:
                report.changes.append(Change(step.action.value, step.name, step.detail))

    await asyncio.gather(*(one(s) for s in steps))
    order = {s.name: i for i, s in enumerate(steps)}
    report.changes.sort(key=lambda c: order.get(c.name, 0))
    return report


async def _run(
    client: PrefectClient | None,
    work: Callable[[PrefectClient], Awaitable[Report]],
) -> Report:
    if client is not None:
        return await work(client)
    async with get_client() as own:
        return await work(own)


async def reconcile(
    specs: list[JobSpec],
    *,
    dry_run: bool = False,
    schemas: dict[str, dict[str, Any]] | None = None,
    client: PrefectClient | None = None,
) -> Report:
    """Make every managed deployment match ``specs`` (deleting the ones no spec names).

    ``schemas`` maps flow name -> parameter OpenAPI schema for the UI's run form.
    """

    async def work(c: PrefectClient) -> Report:
        existing = await read_managed(c, sorted({s.flow_name for s in specs}))
        todo = plan(specs, {name: snapshot(name, d) for name, d in existing.items()}, schemas)
        return await _finish(c, todo, schemas or {}, dry_run)

    return await _run(client, work)


async def reconcile_one(
    spec: JobSpec,
    *,
    dry_run: bool = False,
    schemas: dict[str, dict[str, Any]] | None = None,
    client: PrefectClient | None = None,
) -> Report:
    """Make one deployment match ``spec`` (create, update, pause or resume it); touches no other.

    For a web request or a CLI command that changed one user: ``reconcile_one(digest_spec(user, pool))``.
    A removed user's deployment: :func:`delete_one`.
    """

    async def work(c: PrefectClient) -> Report:
        try:
            have = {spec.full_name: snapshot(spec.full_name, await c.read_deployment_by_name(spec.full_name))}
        except ObjectNotFound:
            have = {}
        todo = plan([spec], have, schemas, delete_unwanted=False)
        return await _finish(c, todo, schemas or {}, dry_run)

    return await _run(client, work)


async def delete_one(full_name: str, *, dry_run: bool = False, client: PrefectClient | None = None) -> Report:
    """Delete one managed deployment (``flow/deployment``) if it exists; its scheduled runs go with it."""

    async def work(c: PrefectClient) -> Report:
        try:
            d = await c.read_deployment_by_name(full_name)
        except ObjectNotFound:
            return Report(dry_run=dry_run)
        if TAG not in d.tags:  # not ours to delete
            return Report(dry_run=dry_run)
        todo = plan([], {full_name: snapshot(full_name, d)})
        return await _finish(c, todo, {}, dry_run)

    return await _run(client, work)


async def _finish(client: PrefectClient, todo: Plan, schemas: Mapping[str, dict[str, Any]], dry_run: bool) -> Report:
    if dry_run or not todo:
        return Report([Change(s.action.value, s.name, s.detail) for s in todo.steps], todo.unchanged, dry_run)
    report = await apply(client, todo.steps, schemas)
    report.unchanged = todo.unchanged
    return report


@task(name="reconcile-deployments", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
async def reconcile_task(specs: list[JobSpec], schemas: dict[str, dict[str, Any]] | None = None) -> Report:
    report = await reconcile(specs, schemas=schemas)
    get_run_logger().info("reconcile: %s", report.summary())
    return report


__all__ = ["Change", "Report", "apply", "delete_one", "reconcile", "reconcile_one", "reconcile_task", "upsert"]
