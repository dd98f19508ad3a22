"""``novel-events-digest``: extract (fetch + novelty) -> render -> deliver, for one user and one slot."""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from flows.hooks import digest_failed_summary
from flows.naming import digest_flow_run_name
from novel_events.errors import PermanentError
from novel_events.names import DIGEST_FLOW
from novel_events.outcome import DigestOutcome, Result, failure_message
from novel_events.settings import load_settings
from novel_events.slots import is_missed, slot_for
from tasks.artifacts import publish_digest_summary
from tasks.deliver import deliver, record_missed
from tasks.digest import extract_for, load_user, render_for

FLOW_NAME = DIGEST_FLOW


def _scheduled_start() -> dt.datetime | None:
    value = flow_run.scheduled_start_time
    return dt.datetime.fromisoformat(str(value)) if value and not isinstance(value, dt.datetime) else value


# No flow-level retries (they would retry permanent errors and cannot outlive a crash): a run that fails
# transiently says so in its state message and the recovery sweep (flows/maintenance.py) re-runs its slot
# with backoff until it is delivered or its catch-up window closes. Results are never persisted.
@flow(
    name=FLOW_NAME,
    flow_run_name=digest_flow_run_name,
    log_prints=False,
    timeout_seconds=30 * 60,
    validate_parameters=True,
    persist_result=False,
    on_failure=[digest_failed_summary],
    on_crashed=[digest_failed_summary],
)
def digest_flow(user_id: str, manual: bool = False, dry_run: bool = False) -> State:
    """Email ``user_id`` the novel events of their calendar, once per slot."""
    log = get_run_logger()
    now = dt.datetime.now(dt.UTC)
    run_id = str(flow_run.id) if flow_run.id else None
    slot = slot_for(_scheduled_start(), manual=manual or dry_run, flow_run_id=run_id)
    try:
        if not (manual or dry_run) and is_missed(slot, now, load_settings().catchup_window):
            outcome = record_missed(user_id, slot, now, run_id, log)
            publish_digest_summary(outcome, now)
            return Completed(message=outcome.message, data=outcome.to_json())
        user = load_user(user_id, log)
        novel = extract_for(user, slot, now)
        digest = render_for(user, novel, now)
        if dry_run:
            outcome = DigestOutcome(user_id, slot, Result.DRY_RUN, len(novel), detail=digest.subject)
        else:
            outcome = deliver(user, slot, digest, len(novel), now, run_id)
    except PermanentError as exc:
        log.error("digest for %s failed for good: %s", user_id, exc)
        return Failed(message=f"user {user_id}, slot {slot}: {failure_message(exc, permanent=True)}")
    except Exception as exc:  # transient, or unforeseen: the sweep retries until the window closes
        log.error("digest for %s failed; its slot will be retried: %s", user_id, exc)
        return Failed(message=f"user {user_id}, slot {slot}: {failure_message(exc, permanent=False)}")
    log.info(outcome.message)
    publish_digest_summary(outcome, now)
    return Completed(message=outcome.message, data=outcome.to_json())
