"""``novel-events-reconcile``: keeps Prefect's deployments in step with the users in the store."""

from __future__ import annotations

from prefect import flow
from prefect.states import Completed, State

from novel_events.jobs import desired
from novel_events.settings import load_settings
from tasks.reconcile import reconcile_task
from tasks.recovery import recover_stuck_task
from tasks.users import list_users

FLOW_NAME = "novel-events-reconcile"


@flow(name=FLOW_NAME, retries=1, retry_delay_seconds=30, timeout_seconds=10 * 60, persist_result=False)
async def reconcile_flow(reconcile: bool = True) -> State:
    """The same reconcile as ``novel-events sync``, then the recovery sweep (undelivered slots re-run).

    The ``recovery`` deployment runs the sweep alone (``reconcile=False``) every minute.
    """
    recovery = await recover_stuck_task()
    if not reconcile:
        return Completed(message=recovery.summary())
    from flows.schemas import flow_schemas

    users = list_users()
    settings = load_settings()
    specs = desired(users, settings.work_pool, settings.maintenance_every_minutes, settings.recovery_every_minutes)
    report = await reconcile_task(specs, flow_schemas())
    return Completed(message=f"{report.summary()}; {recovery.summary()}")
