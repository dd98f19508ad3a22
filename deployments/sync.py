"""``novel-events sync``: users in the store -> per-user deployments (plus the maintenance job)."""

from __future__ import annotations

from flows.schemas import flow_schemas
from novel_events.jobs import desired
from novel_events.settings import Settings
from tasks import store
from tasks.reconcile import Report, reconcile


async def sync(settings: Settings, *, dry_run: bool = False) -> Report:
    users = store.users(settings).list()
    return await reconcile(desired(users, settings.work_pool), dry_run=dry_run, schemas=flow_schemas())
