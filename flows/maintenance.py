"""``novel-events-reconcile``: keeps Prefect's deployments in step with the users in the store."""

from __future__ import annotations

from prefect import flow
from prefect.states import Completed, State

from novel_events.jobs import desired
from novel_events.settings import load_settings
from tasks.notices import notify_users_task
from tasks.reconcile import reconcile_task
from tasks.recovery import recover_stuck_task
from tasks.users import list_users

FLOW_NAME = "novel-events-reconcile"


@flow(name=FLOW_NAME, retries=1, retry_delay_seconds=30, timeout_seconds=10 * 60)
async def reconcile_flow() -> State:
    """The same reconcile as ``novel-events sync``, plus re-running slots whose sender crashed."""
    from flows.schemas import flow_schemas

    users = list_users()
    settings = load_settings()
    specs = desired(users, settings.work_pool, settings.maintenance_every_minutes)
    report = await reconcile_task(specs, flow_schemas())
    recovery = await recover_stuck_task()
    notices = await notify_users_task()
    return Completed(message=f"{report.summary()}; {recovery.summary()}; {notices.summary()}")
