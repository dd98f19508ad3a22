"""The recovery sweep: every slot inside its catch-up window ends in a delivered digest, or in ``missed``.

Prefect does not retry a Crashed run, and flow-level retries cannot outlive a dead worker or a long
outage. So the sweep (run every minute by the maintenance deployments) reads the digest runs of recent
slots that did not complete, and the ledger rows of those slots, and applies the pure plan of
:mod:`novel_events.recovery`: crash runs stuck Pending (their worker died while starting them, which
also frees their concurrency lease), copy into the ledger sends it missed, re-run slots whose runs all
failed transiently or died (backoff doubling per attempt; an idempotency key per attempt, so two
sweeps never create two runs), and record ``missed`` (emitting ``novel-events.digest.missed`` for the
alert automation) when the window closed first.

A re-run is a run of the user's deployment *for the same scheduled time*, so it has the same slot,
the same ledger row and the same Message-ID.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from uuid import UUID

from prefect import get_client, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.events import emit_event
from prefect.exceptions import ObjectNotFound
from prefect.states import Crashed, Scheduled

from novel_events.names import DIGEST_FLOW, user_deployment_full_name
from novel_events.recovery import Action, Decision, Policy, RunView, plan
from novel_events.settings import Settings, load_settings
from novel_events.slots import slot_for, slot_time
from novel_events.store import Delivery, Ledger, Status
from tasks import store
from tasks.sealed import prune

MARGIN = dt.timedelta(hours=1)  # slots this long past their window are still looked at (to record missed)
PAGE = 200
MAX_RUNS = 20_000
HOLDER_GRACE = dt.timedelta(seconds=60)  # a claim younger than this is a send in progress
MISSED_EVENT = "novel-events.digest.missed"
NOT_DONE = [
    StateType.SCHEDULED,
    StateType.PENDING,
    StateType.RUNNING,
    StateType.FAILED,
    StateType.CRASHED,
    StateType.CANCELLED,
    StateType.CANCELLING,
    StateType.PAUSED,
]


@dataclass
class RecoveryReport:
    rescheduled: list[str] = field(default_factory=list)  # "user slot -> flow run name"
    settled: list[str] = field(default_factory=list)  # missed / recorded sent / crashed pending
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.rescheduled)} slot(s) re-run, {len(self.settled)} settled, {len(self.skipped)} skipped"


def policy_for(settings: Settings) -> Policy:
    return Policy(
        window=settings.catchup_window,
        backoff=settings.retry_backoff,
        backoff_max=settings.retry_backoff_max,
        pending_timeout=settings.pending_timeout,
    )


def _view(run: FlowRun) -> RunView | None:
    params = run.parameters or {}
    if params.get("manual") or params.get("dry_run") or run.expected_start_time is None:
        return None
    state = run.state
    return RunView(
        id=str(run.id),
        user_id=str(params.get("user_id")),
        slot=slot_for(run.expected_start_time, manual=False, flow_run_id=None),
        state=state.type.value if state else "SCHEDULED",
        message=(state.message or "") if state else "",
        entered=(state.timestamp if state else run.created) or dt.datetime.now(dt.UTC),
        deployment_id=str(run.deployment_id) if run.deployment_id else None,
    )


async def _recent_runs(client: PrefectClient, since: dt.datetime, until: dt.datetime) -> list[FlowRun]:
    runs: list[FlowRun] = []
    while len(runs) < MAX_RUNS:
        page = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[DIGEST_FLOW])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=NOT_DONE)),
                expected_start_time=FlowRunFilterExpectedStartTime(after_=since, before_=until),  # type: ignore[arg-type]
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=PAGE,
            offset=len(runs),
        )
        runs.extend(page)
        if len(page) < PAGE:
            break
    return runs


async def _holders(
    client: PrefectClient, rows: dict[tuple[str, str], Delivery], known: set[str], now: dt.datetime
) -> list[FlowRun]:
    """Runs holding a claim that the listing did not return (e.g. one that completed as sent)."""
    out: list[FlowRun] = []
    for d in rows.values():
        if (
            d.status is Status.SENDING
            and d.flow_run_id
            and d.flow_run_id not in known
            and now - d.claimed_at > HOLDER_GRACE
        ):
            try:
                out.append(await client.read_flow_run(UUID(d.flow_run_id)))
            except (ObjectNotFound, ValueError):
                continue
    return out


async def recover(settings: Settings, now: dt.datetime | None = None) -> RecoveryReport:
    now = now or dt.datetime.now(dt.UTC)
    since = now - settings.catchup_window - MARGIN
    ledger = store.ledger(settings)
    report = RecoveryReport()
    async with get_client() as client:
        runs = await _recent_runs(client, since, now)
        rows = ledger.since(since)
        runs += await _holders(client, rows, {str(r.id) for r in runs}, now)
        views = [v for v in map(_view, runs) if v is not None]
        for decision in plan(views, rows, now, policy_for(settings)):
            await _apply(client, ledger, decision, report)
    return report


async def _apply(client: PrefectClient, ledger: Ledger, d: Decision, report: RecoveryReport) -> None:
    what = f"{d.user_id} {d.slot}"
    if d.action is Action.CRASH_PENDING and d.run_id:
        await client.set_flow_run_state(UUID(d.run_id), Crashed(message=f"Recovery sweep: {d.reason}."), force=True)
        report.settled.append(f"{what}: run {d.run_id} crashed ({d.reason})")
    elif d.action is Action.RECORD_SENT and d.run_id:
        if ledger.settle_sent(d.user_id, d.slot, d.run_id, "recorded by the recovery sweep"):
            report.settled.append(f"{what}: recorded sent (run {d.run_id})")
    elif d.action is Action.MISSED:
        claim = ledger.claim(d.user_id, d.slot, flow_run_id=None, status=Status.MISSED)
        if claim.won:
            ledger.record(d.user_id, d.slot, Status.MISSED, detail=d.reason)
            emit_event(
                event=MISSED_EVENT,
                resource={
                    "prefect.resource.id": f"novel-events.user.{d.user_id}",
                    "prefect.resource.name": d.user_id,
                    "novel-events.slot": d.slot,
                },
                payload={"user_id": d.user_id, "slot": d.slot, "reason": d.reason[:300]},
            )
            report.settled.append(f"{what}: missed ({d.reason})")
    elif d.action is Action.RERUN:
        await _rerun(client, ledger, d, report)


async def _rerun(client: PrefectClient, ledger: Ledger, d: Decision, report: RecoveryReport) -> None:
    what = f"{d.user_id} {d.slot}"
    at = slot_time(d.slot)
    if at is None:
        return
    try:
        dep = (
            await client.read_deployment(UUID(d.deployment_id))
            if d.deployment_id
            else await client.read_deployment_by_name(user_deployment_full_name(d.user_id))
        )
    except ObjectNotFound:
        report.skipped.append(f"{what}: no deployment (user removed?)")
        return
    if dep.paused:
        report.skipped.append(f"{what}: the user's digest is paused")
        return
    gcl = dep.global_concurrency_limit
    if gcl is not None and gcl.active_slots >= gcl.limit:
        # a run of this user still holds the deployment's slot (or its lease has not expired): a run created
        # now would be cancelled on collision. The next sweep tries again.
        report.skipped.append(f"{what}: waiting for the user's concurrency slot")
        return
    if d.run_id:  # its holder died mid-send: an unknown outcome, re-sent at most once (same Message-ID)
        ledger.release(d.user_id, d.slot, d.run_id, "the run holding this slot died mid-send")
    run = await client.create_flow_run_from_deployment(
        dep.id,
        parameters={"user_id": d.user_id},
        state=Scheduled(scheduled_time=at),
        idempotency_key=d.idempotency_key,
        tags=["recovery"],
    )
    report.rescheduled.append(f"{what} (attempt {d.attempt}: {d.reason[:120]}) -> {run.name}")


# The old entry point, kept for callers and tests.
async def recover_stuck(settings: Settings) -> RecoveryReport:
    return await recover(settings)


@task(name="recover-undelivered-slots", retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE, persist_result=False)
async def recover_stuck_task() -> RecoveryReport:
    settings = load_settings()
    report = await recover(settings)
    log = get_run_logger()
    pruned = prune(settings.home, settings.catchup_window + 2 * MARGIN)
    if pruned:
        log.info("pruned %d cached extraction(s) past any re-run", pruned)
    for line in report.rescheduled:
        log.warning("re-running: %s", line)
    for line in report.settled:
        log.warning("settled: %s", line)
    for line in report.skipped:
        log.info("not recovering: %s", line)
    return report


__all__ = ["MISSED_EVENT", "RecoveryReport", "recover", "recover_stuck", "recover_stuck_task"]
