"""Reconciling one user (what the web app calls after a change) against a real Prefect server."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from prefect import get_client
from prefect.client.schemas.responses import DeploymentResponse
from prefect.exceptions import ObjectNotFound

from flows.schemas import flow_schemas
from novel_events.jobs import digest_spec
from novel_events.names import user_deployment_full_name
from novel_events.settings import load_settings
from tasks.reconcile import Report, delete_one, reconcile_one
from tasks.store import users as user_store
from tests.support.env import unique_id
from tests.support.prefect import add_user


def _read(uid: str) -> DeploymentResponse:
    async def read() -> DeploymentResponse:
        async with get_client() as client:
            return await client.read_deployment_by_name(user_deployment_full_name(uid))

    return asyncio.run(read())


def _actions(report: Report) -> list[tuple[str, str]]:
    return [(c.action, c.name) for c in report.changes]


def test_reconcile_one_creates_updates_pauses_and_touches_no_other_user(initialized: str) -> None:
    settings = load_settings()
    mine, other = unique_id("one"), unique_id("one")
    add_user(mine, source="google", at="07:30")
    add_user(other, source="google")
    name = user_deployment_full_name(mine)
    spec = digest_spec(user_store(settings).get(mine), settings.work_pool)

    assert _actions(asyncio.run(reconcile_one(spec, dry_run=True))) == [("created", name)]
    with pytest.raises(ObjectNotFound):
        _read(mine)  # a dry run writes nothing
    assert _actions(asyncio.run(reconcile_one(spec, schemas=flow_schemas()))) == [("created", name)]
    created = _read(mine)
    assert created.parameters == {"user_id": mine} and not created.paused
    again = asyncio.run(reconcile_one(spec, schemas=flow_schemas()))
    assert again.changes == [] and again.unchanged == 1

    paused = asyncio.run(reconcile_one(dataclasses.replace(spec, paused=True), schemas=flow_schemas()))
    assert _actions(paused) == [("paused", name)]
    assert _read(mine).paused and _read(mine).id == created.id
    later = dataclasses.replace(spec, paused=True, cron="45 8 * * *")
    assert [(c.action, c.detail) for c in asyncio.run(reconcile_one(later, schemas=flow_schemas())).changes] == [
        ("updated", "cron")
    ]
    assert _read(mine).schedules[0].schedule.cron == "45 8 * * *"  # type: ignore[union-attr]
    with pytest.raises(ObjectNotFound):
        _read(other)  # never synced: reconcile_one wrote only its own deployment

    assert _actions(asyncio.run(delete_one(name))) == [("deleted", name)]
    with pytest.raises(ObjectNotFound):
        _read(mine)
    assert asyncio.run(delete_one(name)).changes == []  # already gone: nothing to do
