"""``novel-events sync``: users in the store -> per-user deployments (plus the maintenance job)."""

from __future__ import annotations

from flows.schemas import flow_schemas
from novel_events.jobs import desired
from novel_events.settings import Settings
from tasks import store
from tasks.reconcile import Report, reconcile


async def sync(settings: Settings, *, dry_run: bool = False) -> Report:
    users = store.users(settings).list()
    specs = desired(users, settings.work_pool, settings.maintenance_every_minutes, settings.recovery_every_minutes)
    return await reconcile(specs, dry_run=dry_run, schemas=flow_schemas())
