"""Crash recovery: re-run slots whose sender died between claiming and recording.

Prefect does not retry a Crashed run. A digest whose worker died mid-send leaves its ledger row
``sending``; once that claim is older than ``SEND_CLAIM_TIMEOUT`` the maintenance job creates a new
run of the user's deployment *for the same scheduled time* (so the same slot), which takes the claim
over and sends again with the same Message-ID. An idempotency key per (user, slot, claim) means a
sweep never creates two recovery runs for one stuck claim. Slots already past the catch-up window
are recorded as missed by that run; manual slots cannot be re-created and are only reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prefect import get_client, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import ObjectNotFound
from prefect.states import Scheduled

from novel_events.jobs import DIGEST_FLOW
from novel_events.settings import Settings, load_settings
from novel_events.slots import slot_time
from tasks import store


@dataclass
class RecoveryReport:
    rescheduled: list[str] = field(default_factory=list)  # "user slot -> flow run name"
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.rescheduled)} stuck slot(s) re-run, {len(self.skipped)} skipped"


async def recover_stuck(settings: Settings) -> RecoveryReport:
    report = RecoveryReport()
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
                dep = await client.read_deployment_by_name(f"{DIGEST_FLOW}/user-{d.user_id}")
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


@task(name="recover-stuck-slots", retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE)
async def recover_stuck_task() -> RecoveryReport:
    report = await recover_stuck(load_settings())
    log = get_run_logger()
    for line in report.rescheduled:
        log.warning("recovering crashed delivery: %s", line)
    for line in report.skipped:
        log.info("not recovering: %s", line)
    return report


__all__ = ["RecoveryReport", "recover_stuck", "recover_stuck_task"]
