"""``novel-events-digest``: fetch -> detect -> render -> deliver, for one user and one slot."""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed, State

from flows.naming import digest_flow_run_name
from novel_events.outcome import DigestOutcome, Result
from novel_events.settings import load_settings
from novel_events.slots import is_missed, slot_for
from tasks.artifacts import publish_digest_summary
from tasks.deliver import deliver, record_missed
from tasks.digest import detect, fetch_calendar, load_user, render

FLOW_NAME = "novel-events-digest"


def _scheduled_start() -> dt.datetime | None:
    value = flow_run.scheduled_start_time
    return dt.datetime.fromisoformat(str(value)) if value and not isinstance(value, dt.datetime) else value


# No flow-level retries: they would also retry permanent errors (a 400 from the mail provider, a revoked
# grant). Transient errors are retried by each task's retry_condition_fn.
@flow(name=FLOW_NAME, flow_run_name=digest_flow_run_name, log_prints=False, timeout_seconds=15 * 60,
      validate_parameters=True)
def digest_flow(user_id: str, manual: bool = False, dry_run: bool = False) -> State:
    """Email ``user_id`` the novel events of their calendar, once per slot."""
    now = dt.datetime.now(dt.UTC)
    run_id = str(flow_run.id) if flow_run.id else None
    slot = slot_for(_scheduled_start(), manual=manual or dry_run, flow_run_id=run_id)
    if not (manual or dry_run) and is_missed(slot, now, load_settings().catchup_window):
        outcome = record_missed(user_id, slot, now, run_id)
        publish_digest_summary(outcome, now)
        return Completed(message=outcome.message, data=outcome.to_json())
    user = load_user(user_id)
    dump = fetch_calendar(user, now)
    novel = detect(dump, user, now)
    digest = render(user, novel, now)
    if dry_run:
        outcome = DigestOutcome(user_id, slot, Result.DRY_RUN, len(novel), detail=digest.subject)
    else:
        outcome = deliver(user, slot, digest, len(novel), now, run_id)
    get_run_logger().info(outcome.message)
    publish_digest_summary(outcome, now)
    return Completed(message=outcome.message, data=outcome.to_json())
