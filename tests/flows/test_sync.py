"""`novel-events sync` against a real Prefect server: what Prefect holds afterwards, read from its API."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import ConcurrencyLimitStrategy, StateType
from prefect.exceptions import ObjectNotFound

from cli.app import main
from deployments.sync import sync
from novel_events.schedules import Schedule
from novel_events.settings import load_settings
from tests.support.env import unique_id
from tests.support.prefect import add_user

pytestmark = pytest.mark.e2e


def uid_of(name: str) -> str:
    return name.rpartition("/user-")[2]


def _sync():  # type: ignore[no-untyped-def]
    return asyncio.run(sync(load_settings()))


def _deployment(uid: str):  # type: ignore[no-untyped-def]
    async def read():  # type: ignore[no-untyped-def]
        async with get_client() as client:
            return await client.read_deployment_by_name(f"novel-events-digest/user-{uid}")

    return asyncio.run(read())


def _scheduled_runs(uid: str) -> list:  # type: ignore[type-arg]
    async def read() -> list:  # type: ignore[type-arg]
        async with get_client() as client:
            return await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    tags=FlowRunFilterTags(all_=[f"user:{uid}"]),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                )
            )

    return asyncio.run(read())


def test_sync_creates_updates_pauses_and_deletes(initialized: str) -> None:
    a, b = unique_id("sync"), unique_id("sync")
    add_user(a, tz="Europe/Berlin", at="07:30", source="google")
    add_user(b, "--day", "fri", tz="America/New_York", schedule="weekly", at="18:00", source="google")
    assert main(["users", "set", b, "--disable"]) == 0

    report = _sync()
    created = {c.name for c in report.changes if c.action == "created"}
    assert {f"novel-events-digest/user-{a}", f"novel-events-digest/user-{b}"} <= created

    da = _deployment(a)
    assert da.parameters == {"user_id": a}
    assert {"novel-events", f"user:{a}"} <= set(da.tags)
    assert da.work_pool_name == load_settings().work_pool
    assert da.entrypoint == "flows.digest.digest_flow"
    assert [(s.schedule.cron, s.schedule.timezone, s.active) for s in da.schedules] == [
        ("30 7 * * *", "Europe/Berlin", True)
    ]
    assert da.global_concurrency_limit is not None and da.global_concurrency_limit.limit == 1
    assert da.concurrency_options is not None
    assert da.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW
    assert da.paused is False
    for secretish in ("token", "password", "secret", "api_key"):
        assert secretish not in str(da.parameters).lower() and secretish not in str(da.job_variables).lower()

    db = _deployment(b)
    assert db.paused is True
    assert [(s.schedule.cron, s.schedule.timezone) for s in db.schedules] == [("0 18 * * 5", "America/New_York")]

    # nothing changed -> nothing written, and it says so
    again = _sync()
    assert again.changes == [] and again.summary().startswith("nothing to do")
    assert _deployment(a).updated == da.updated

    # one user changed -> only that user written
    assert main(["users", "set", a, "--at", "08:15"]) == 0
    one = _sync()
    assert [(c.action, c.name) for c in one.changes] == [("updated", f"novel-events-digest/user-{a}")]
    assert _deployment(a).schedules[0].schedule.cron == "15 8 * * *"
    assert _deployment(b).updated == db.updated

    # resume -> resumed only
    assert main(["users", "set", b, "--enable"]) == 0
    assert [(c.action, c.name) for c in _sync().changes] == [("resumed", f"novel-events-digest/user-{b}")]
    assert _deployment(b).paused is False

    # the scheduler's next runs are exactly our next digest times (shown by `users list`)
    expected = Schedule.parse("daily", "08:15", "Europe/Berlin").next_times(dt.datetime.now(dt.UTC), n=2)
    deadline = time.monotonic() + 60
    runs = []
    while time.monotonic() < deadline and len(runs) < 2:
        runs = sorted(_scheduled_runs(a), key=lambda r: r.expected_start_time)
        time.sleep(1)
    assert [r.expected_start_time for r in runs[:2]] == expected
    assert all(r.parameters == {"user_id": a} for r in runs)

    # removed users: deployment deleted, no scheduled runs left
    assert main(["users", "remove", a]) == 0
    assert main(["users", "remove", b]) == 0
    gone = _sync()
    assert {(c.action, c.name) for c in gone.changes if uid_of(c.name) in (a, b)} == {
        ("deleted", f"novel-events-digest/user-{a}"),
        ("deleted", f"novel-events-digest/user-{b}"),
    }
    for uid in (a, b):
        with pytest.raises(ObjectNotFound):
            _deployment(uid)
        assert _scheduled_runs(uid) == []


def test_sync_cli_dry_run_changes_nothing(initialized: str, capsys: pytest.CaptureFixture[str]) -> None:
    uid = unique_id("dry")
    add_user(uid, source="google")
    capsys.readouterr()
    assert main(["sync", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would be created  novel-events-digest/user-{uid}" in out
    with pytest.raises(ObjectNotFound):
        _deployment(uid)
    assert main(["sync"]) == 0
    assert f"created  novel-events-digest/user-{uid}" in capsys.readouterr().out
    assert _deployment(uid).parameters == {"user_id": uid}
    assert main(["users", "remove", uid]) == 0
    assert main(["sync"]) == 0


def test_a_refused_write_is_reported_and_the_others_still_happen(initialized: str) -> None:
    import dataclasses

    from flows.schemas import flow_schemas
    from novel_events.jobs import desired
    from tasks.reconcile import reconcile
    from tasks.store import users as user_store

    good, bad = unique_id("ok"), unique_id("bad")
    add_user(good, source="google")
    add_user(bad, source="google")
    settings = load_settings()
    specs = [
        dataclasses.replace(s, work_pool="no-such-pool") if s.name == f"user-{bad}" else s
        for s in desired(
            user_store(settings).list(),
            settings.work_pool,
            settings.maintenance_every_minutes,
            settings.recovery_every_minutes,
        )
    ]
    report = asyncio.run(reconcile(specs, schemas=flow_schemas()))
    assert f"novel-events-digest/user-{good}" in {c.name for c in report.changes if c.action == "created"}
    assert [(c.action, c.name) for c in report.failed] == [("failed", f"novel-events-digest/user-{bad}")]
    assert "FAILED" in report.summary()
    with pytest.raises(ObjectNotFound):
        _deployment(bad)
    # the next sync (or the maintenance job) repairs it
    assert [(c.action, c.name) for c in _sync().changes] == [("created", f"novel-events-digest/user-{bad}")]
    for uid in (good, bad):
        assert main(["users", "remove", uid]) == 0
    _sync()
