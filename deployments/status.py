"""``novel-events status``: recent digest runs joined with the delivery ledger, and the fleet at a glance."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort

from novel_events.fleet import RunFact, fleet_summary
from novel_events.names import DIGEST_FLOW
from novel_events.notices import NoticeKind
from novel_events.settings import Settings
from novel_events.store.fleet import users_needing_attention
from novel_events.store.notices import NoticeStore
from tasks import store


async def recent_runs(settings: Settings, *, user_id: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    run_filter = FlowRunFilter(
        tags=FlowRunFilterTags(all_=[f"user:{user_id}"]) if user_id else None,
        expected_start_time=FlowRunFilterExpectedStartTime(before_=dt.datetime.now(dt.UTC)),  # type: ignore[arg-type]
    )
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[DIGEST_FLOW])),
            flow_run_filter=run_filter,
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=limit,
        )
    deliveries = {d.flow_run_id: d for d in store.ledger(settings).recent(user_id, limit=max(limit * 4, 100))}
    rows = []
    for r in runs:
        user = r.parameters.get("user_id")
        scheduled = r.expected_start_time
        lag = (r.start_time - scheduled).total_seconds() if r.start_time and scheduled else None
        d = deliveries.get(str(r.id))
        outcome = (r.state.message if r.state and r.state.message else None) or (
            f"{d.status.value}{': ' + d.detail if d.detail else ''}" if d else None
        )
        rows.append(
            {
                "flowRun": r.name,
                "id": str(r.id),
                "user": user,
                "manual": bool(r.parameters.get("manual")),
                "scheduled": scheduled.isoformat() if scheduled else None,
                "started": r.start_time.isoformat() if r.start_time else None,
                "startLagSeconds": lag,
                "state": r.state_name or "?",
                "durationSeconds": r.total_run_time.total_seconds() if r.start_time else None,
                "delivery": d.status.value if d else None,
                "providerId": d.provider_id if d else None,
                "outcome": outcome,
            }
        )
    return rows


MAX_FLEET_RUNS = 20000


async def _fleet_facts(now: dt.datetime) -> tuple[list[RunFact], dict[str, FlowRun], bool]:
    """Finished digest runs of the last 30 days, and each user's latest one."""
    facts: list[RunFact] = []
    latest: dict[str, FlowRun] = {}
    offset, page_size = 0, 200
    async with get_client() as client:
        while True:
            runs = await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[DIGEST_FLOW])),
                flow_run_filter=FlowRunFilter(
                    expected_start_time=FlowRunFilterExpectedStartTime(after_=now - dt.timedelta(days=30), before_=now),  # type: ignore[arg-type]
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(
                            any_=[StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED]
                        )
                    ),
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_DESC,
                limit=page_size,
                offset=offset,
            )
            for r in runs:
                uid = str(r.parameters.get("user_id") or "?")
                manual = bool(r.parameters.get("manual") or r.parameters.get("dry_run"))
                started = r.start_time is not None and r.expected_start_time is not None
                facts.append(
                    RunFact(
                        user_id=uid,
                        expected=r.expected_start_time or now,
                        state=r.state_type.value if r.state_type else "?",
                        manual=manual,
                        lateness=max(0.0, (r.start_time - r.expected_start_time).total_seconds())  # type: ignore[operator]
                        if started and not manual
                        else None,
                        duration=r.total_run_time.total_seconds() if r.start_time else None,
                    )
                )
                latest.setdefault(uid, r)
            offset += page_size
            if len(runs) < page_size or offset >= MAX_FLEET_RUNS:
                return facts, latest, len(runs) == page_size


async def fleet_status(settings: Settings) -> dict[str, Any]:
    """The fleet summary (see novel_events/fleet.py) with users needing attention."""
    now = dt.datetime.now(dt.UTC)
    facts, latest, truncated = await _fleet_facts(now)
    engine = store.store_engine(settings)
    known = {u.id: u for u in store.users(settings).list()}
    attention: dict[str, list[str]] = {}
    for uid in users_needing_attention(engine):
        attention.setdefault(uid, []).append("needs reconnect: Google access revoked or expired (novel-events connect)")
    for notice in NoticeStore(engine).list():
        if notice.kind is NoticeKind.FAILING:
            attention.setdefault(notice.user_id, []).append("failing: its last scheduled digests all failed")
    for uid, run in latest.items():
        user = known.get(uid)
        if user is None or not user.enabled or not run.state or run.state.is_completed() or run.state.is_cancelled():
            continue
        reason = " ".join((run.state.message or run.state.name or "").split())[:160]
        attention.setdefault(uid, []).append(f"last run {run.state.name}: {reason} ({run.name})")
    return fleet_summary(facts, now, attention, truncated=truncated)
