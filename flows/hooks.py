"""Flow-run hooks for the digest: a failed or crashed run also leaves its summary (artifact + summary event).

Wire with ``@flow(..., on_failure=[digest_failed_summary], on_crashed=[digest_failed_summary])``. The hook
never raises (a summary must not hide the failure).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from novel_events.outcome import DigestOutcome, Result
from novel_events.runsummary import RunSummary
from novel_events.settings import load_settings
from novel_events.slots import slot_for
from novel_events.store import Status


def failed_summary(flow_run: Any, state: Any, *, ledger_status: Status | None, backend: str) -> RunSummary:
    """The summary of a run that ended ``state`` (Failed/Crashed/TimedOut). Pure apart from its arguments."""
    params = flow_run.parameters or {}
    manual = bool(params.get("manual") or params.get("dry_run"))
    slot = slot_for(flow_run.expected_start_time, manual=manual, flow_run_id=str(flow_run.id))
    now = dt.datetime.now(dt.UTC)
    started = flow_run.start_time or now
    send_failed = ledger_status in {Status.FAILED, Status.RETRY, Status.UNKNOWN}
    reason = " ".join(((state.message if state else None) or "").split())[:200]
    outcome = DigestOutcome(str(params.get("user_id") or "?"), slot, Result.FAILED, detail=reason)
    return RunSummary(
        user_id=outcome.user_id,
        slot=slot,
        result=(state.name or "failed").lower() if state else "failed",
        novel_count=0,
        started=started,
        finished=now,
        scheduled=None if manual else flow_run.expected_start_time,
        backend=backend if send_failed else None,
        emails_failed=int(send_failed),
        detail=outcome.detail,
    )


def digest_failed_summary(flow: Any, flow_run: Any, state: Any) -> None:
    """``on_failure``/``on_crashed`` hook: publish the failed run's summary."""
    try:
        from tasks import store
        from tasks.artifacts import publish

        settings = load_settings()
        summary = failed_summary(flow_run, state, ledger_status=None, backend=settings.email_backend)
        row = store.ledger(settings).get(summary.user_id, summary.slot)
        if row is not None and row.flow_run_id == str(flow_run.id):
            summary = failed_summary(flow_run, state, ledger_status=row.status, backend=settings.email_backend)
        publish(summary)
    except Exception:
        pass
