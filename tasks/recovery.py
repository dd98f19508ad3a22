"""Recovery: re-run slots that a crash or a concurrency collision left without a digest.

1. Crashes.
Prefect does not retry a Crashed run. A digest whose worker died mid-send leaves its ledger row
``sending``; once that claim is older than ``SEND_CLAIM_TIMEOUT`` the maintenance job creates a new
run of the user's deployment *for the same scheduled time* (so the same slot), which takes the claim
over and sends again with the same Message-ID. An idempotency key per (user, slot, claim) means a
sweep never creates two recovery runs for one stuck claim. Slots already past the catch-up window
are recorded as missed by that run; manual slots cannot be re-created and are only reported.

2. Collisions. Each user's deployment runs one run at a time and cancels a colliding one. After an
outage a worker picks up a user's backlog at once (yesterday's slot, long missed, and today's, still
within ``CATCHUP_WINDOW``); the second is cancelled while the first records ``missed``. The sweep
re-creates such cancelled scheduled runs whose slot is still within the window and has no outcome.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from prefect import get_client, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.exceptions import ObjectNotFound
from prefect.states import Scheduled

from novel_events.names import DIGEST_FLOW, user_deployment_full_name
from novel_events.settings import Settings, load_settings
from novel_events.slots import slot_for, slot_time
from tasks import store


@dataclass
class RecoveryReport:
    rescheduled: list[str] = field(default_factory=list)  # "user slot -> flow run name"
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.rescheduled)} slot(s) re-run, {len(self.skipped)} skipped"


COLLISION_MESSAGE = "concurrency limit"


async def recover_stuck(settings: Settings) -> RecoveryReport:
    report = RecoveryReport()
    await _recover_collisions(settings, report)
    stuck = store.ledger(settings).stuck(settings.send_claim_timeout)
    if not stuck:
        return report
    async with get_client() as client:
        for d in stuck:
            at = slot_time(d.slot)
            if at is None:
                report.skipped.append(f"{d.user_id} {d.slot}: manual run, re-run it by hand")
                continue
            try:
                dep = await client.read_deployment_by_name(user_deployment_full_name(d.user_id))
            except ObjectNotFound:
                report.skipped.append(f"{d.user_id} {d.slot}: no deployment (user removed?)")
                continue
            gcl = dep.global_concurrency_limit
            if gcl is not None and gcl.active_slots >= gcl.limit:
                # The dead run still holds the deployment's slot until its lease expires; a run created
                # now would be cancelled on collision. The next sweep tries again.
                report.skipped.append(f"{d.user_id} {d.slot}: waiting for the dead run's concurrency lease")
                continue
            run = await client.create_flow_run_from_deployment(
                dep.id, parameters={"user_id": d.user_id}, state=Scheduled(scheduled_time=at),
                idempotency_key=f"recover:{d.user_id}:{d.slot}:{d.claimed_at.isoformat()}",
                tags=["recovery"],
            )
            report.rescheduled.append(f"{d.user_id} {d.slot} -> {run.name}")
    return report


async def _recover_collisions(settings: Settings, report: RecoveryReport) -> None:
    now = dt.datetime.now(dt.UTC)
    ledger = store.ledger(settings)
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[DIGEST_FLOW])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.CANCELLED])),
                expected_start_time=FlowRunFilterExpectedStartTime(
                    after_=now - settings.catchup_window, before_=now),  # type: ignore[arg-type]
            ),
            limit=200,
        )
        for run in runs:
            if run.parameters.get("manual") or run.parameters.get("dry_run") or run.deployment_id is None:
                continue
            if COLLISION_MESSAGE not in ((run.state.message if run.state else None) or "").lower():
                continue
            user_id = str(run.parameters.get("user_id"))
            slot = slot_for(run.expected_start_time, manual=False, flow_run_id=None)
            if ledger.get(user_id, slot) is not None:  # some run of this slot got as far as an outcome
                continue
            again = await client.create_flow_run_from_deployment(
                run.deployment_id, parameters={"user_id": user_id},
                state=Scheduled(scheduled_time=run.expected_start_time),
                idempotency_key=f"recover:{user_id}:{slot}:collision", tags=["recovery"],
            )
            if again.id != run.id and (again.state is None or not again.state.is_final()):
                report.rescheduled.append(f"{user_id} {slot} (cancelled on collision) -> {again.name}")


@task(name="recover-stuck-slots", retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE)
async def recover_stuck_task() -> RecoveryReport:
    report = await recover_stuck(load_settings())
    log = get_run_logger()
    for line in report.rescheduled:
        log.warning("re-running: %s", line)
    for line in report.skipped:
        log.info("not recovering: %s", line)
    return report


__all__ = ["RecoveryReport", "recover_stuck", "recover_stuck_task"]
