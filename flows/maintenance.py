"""``novel-events-reconcile``: keeps Prefect's deployments in step with the users in the store."""

from __future__ import annotations

from functools import cache
from typing import Any

from prefect import flow
from prefect.states import Completed, State
from prefect.utilities.callables import parameter_schema

from flows.digest import digest_flow
from novel_events.jobs import desired
from novel_events.names import MAINTENANCE_FLOW
from novel_events.settings import load_settings
from tasks.notices import notify_users_task
from tasks.reconcile import reconcile_task
from tasks.recovery import recover_stuck_task
from tasks.users import list_users

FLOW_NAME = MAINTENANCE_FLOW


@flow(name=FLOW_NAME, retries=1, retry_delay_seconds=30, timeout_seconds=10 * 60, persist_result=False)
async def reconcile_flow(reconcile: bool = True) -> State:
    """The same reconcile as ``novel-events sync``, then the recovery sweep (undelivered slots re-run).

    The ``recovery`` deployment runs the sweep alone (``reconcile=False``) every minute.
    """
    recovery = await recover_stuck_task()
    if not reconcile:
        return Completed(message=recovery.summary())
    users = list_users()
    settings = load_settings()
    specs = desired(users, settings.work_pool, settings.maintenance_every_minutes, settings.recovery_every_minutes)
    report = await reconcile_task(specs, flow_schemas())
    notices = await notify_users_task()
    return Completed(message=f"{report.summary()}; {recovery.summary()}; {notices.summary()}")


@cache
def flow_schemas() -> dict[str, dict[str, Any]]:
    """Flow name -> parameter schema of each flow we deploy, for the deployments' run forms in the UI."""
    return {f.name: parameter_schema(f.fn).model_dump_for_openapi() for f in (digest_flow, reconcile_flow)}
