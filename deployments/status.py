"""Recent digest runs (due by now) joined with the delivery ledger (``novel-events status``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterTags,
)
from prefect.client.schemas.sorting import FlowRunSort

from novel_events.names import DIGEST_FLOW
from novel_events.settings import Settings
from tasks import store


async def recent_runs(settings: Settings, *, user_id: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    run_filter = FlowRunFilter(
        tags=FlowRunFilterTags(all_=[f"user:{user_id}"]) if user_id else None,
        expected_start_time=FlowRunFilterExpectedStartTime(before_=dt.datetime.now(dt.UTC)),  # type: ignore[arg-type]
    )
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[DIGEST_FLOW])),
            flow_run_filter=run_filter, sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=limit,
        )
    deliveries = {d.flow_run_id: d for d in store.ledger(settings).recent(user_id, limit=max(limit * 4, 100))}
    rows = []
    for r in runs:
        user = r.parameters.get("user_id")
        scheduled = r.expected_start_time
        lag = (r.start_time - scheduled).total_seconds() if r.start_time and scheduled else None
        d = deliveries.get(str(r.id))
        outcome = (r.state.message if r.state and r.state.message else None) or (
            f"{d.status.value}{': ' + d.detail if d.detail else ''}" if d else None)
        rows.append({
            "flowRun": r.name, "id": str(r.id), "user": user, "manual": bool(r.parameters.get("manual")),
            "scheduled": scheduled.isoformat() if scheduled else None,
            "started": r.start_time.isoformat() if r.start_time else None,
            "startLagSeconds": lag, "state": r.state_name or "?",
            "durationSeconds": r.total_run_time.total_seconds() if r.start_time else None,
            "delivery": d.status.value if d else None, "providerId": d.provider_id if d else None,
            "outcome": outcome,
        })
    return rows
