"""Every alert rule end to end: a real fault on a real server produces exactly one alert at a local receiver
(the webhook), and the same alert by email through the product's mail backend (the outbox)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from prefect import get_client
from prefect.events import emit_event
from pydantic import SecretStr

from cli.app import main
from cli.processes import start_worker
from deployments.alert_email import FULL_NAME as ALERT_DEPLOYMENT
from deployments.alert_rules import ALL_NAMES
from deployments.automations import ensure_automations
from deployments.sync import sync
from novel_events.notices import MISSED_EVENT, NoticeKind, user_resource
from novel_events.samples import PEOPLE, build_ics
from novel_events.settings import Settings, load_settings
from novel_events.store import make_engine
from novel_events.store.notices import NoticeStore
from tasks.notices import notify_users
from tests.support.alerts import Receiver
from tests.support.env import environ, unique_id
from tests.support.prefect import add_user, create_scheduled_run, deploy_on_own_pool, emails_for, wait_final

pytestmark = pytest.mark.e2e

OPS = f"ops-{uuid.uuid4().hex[:8]}"  # the operator's mailbox (ALERT_EMAIL) for this module


def _ensure(settings: Settings) -> list[str]:
    async def go() -> list[str]:
        async with get_client() as client:
            return await ensure_automations(client, settings)

    return asyncio.run(go())


def _settings(receiver: Receiver, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "alert_webhook_url": SecretStr(receiver.url),
        "alert_email": f"{OPS}@example.org",
        "late_alert_minutes": 0.25,
        "worker_down_alert_minutes": 0.25,
        **changes,
    }
    return Settings(**values)


@pytest.fixture(scope="module")
def alerts_on(worker: object, receiver: Receiver) -> Iterator[Settings]:
    settings = _settings(receiver)
    lines = _ensure(settings)
    assert all(
        f"automation: {name} created" in lines or f"automation: {name} updated" in lines for name in ALL_NAMES
    ), lines
    assert f"deployment: {ALERT_DEPLOYMENT} created (alerts emailed to {OPS}@example.org)" in lines, lines
    again = _ensure(settings)  # idempotent
    assert all(f"automation: {name} unchanged" in again for name in ALL_NAMES), again
    assert f"deployment: {ALERT_DEPLOYMENT} unchanged (alerts emailed to {OPS}@example.org)" in again
    yield settings
    off = _ensure(Settings(alert_webhook_url=None, alert_email=None))
    assert all(f"automation: {name} removed" in off for name in ALL_NAMES), off
    assert f"deployment: {ALERT_DEPLOYMENT} removed (NOVEL_EVENTS_ALERT_EMAIL not set)" in off


def _ops_mail(outbox: Path, needle: str, timeout: float = 90.0) -> list[str]:
    """Alert emails in the outbox whose subject or body contains ``needle`` (waits for the first one)."""
    deadline = time.monotonic() + timeout
    found: list[str] = []
    while time.monotonic() < deadline:
        found = [
            t for t in (_plain(p) for p in sorted(outbox.glob("*.eml")) if f"{OPS}@" in p.read_text()) if needle in t
        ]
        if found:
            return found
        time.sleep(0.5)
    return found


def _plain(eml: Path) -> str:
    msg = message_from_bytes(eml.read_bytes(), policy=default)
    body = msg.get_body(("plain",))
    assert body is not None
    return f"Subject: {msg['Subject']}\n\n{body.get_content()}"


def _assert_shape(alert: dict[str, Any], uid: str | None) -> None:
    body = alert["body"]
    for label in ("Reason: ", "State: ", "User: "):
        assert label in body, body
    if uid:
        assert f"User: {uid}" in body
    assert "tok-" not in json.dumps(alert)  # the webhook's secret token never travels in an alert


def _broken_user(session_home: Path, uid: str) -> Path:
    ics = session_home / f"{uid}.ics"
    ics.write_bytes(build_ics(PEOPLE[0], dt.date.today()))
    add_user(uid, source=f"ics:{ics}")
    ics.unlink()  # every digest fails for real: the iCal file is gone
    asyncio.run(sync(load_settings()))
    return ics


def _deployment_id(uid: str) -> Any:
    async def go() -> Any:
        async with get_client() as client:
            return (await client.read_deployment_by_name(f"novel-events-digest/user-{uid}")).id

    return asyncio.run(go())


def test_three_failed_slots_alert_once_and_tell_the_user_once(
    alerts_on: Settings, receiver: Receiver, session_home: Path
) -> None:
    uid = unique_id("failing")
    settings = load_settings()
    ics = _broken_user(session_home, uid)
    try:
        dep = _deployment_id(uid)
        now = dt.datetime.now(dt.UTC)
        for minutes in (40, 30, 20):  # three scheduled slots, one after the other, each fails
            run = wait_final(create_scheduled_run(dep, uid, now - dt.timedelta(minutes=minutes)))
            assert run.state_name == "Failed", (run.state_name, run.state and run.state.message)

        # each failed run: one "failed" alert (webhook + email), with the reason and a link to the run
        failed = receiver.wait_for(f"user-{uid} Failed")
        assert len(failed) == 3, failed
        _assert_shape(failed[0], uid)
        assert "cannot read iCal file" in failed[0]["body"] and "/runs/flow-run/" in failed[0]["body"]
        assert len(_ops_mail(settings.outbox, f"user-{uid} Failed")) >= 1

        plan = asyncio.run(notify_users(settings))
        assert (uid, NoticeKind.FAILING) in [(u, p.kind) for u, p in plan.alert]
        (alert,) = receiver.wait_for(f"user {uid} failed 3 slots in a row")
        _assert_shape(alert, uid)
        assert "cannot read iCal file" in alert["body"] and "/runs/flow-run/" in alert["body"]
        (told,) = emails_for(settings.outbox, uid)  # the user: one short email saying what broke
        text = _plain(told)
        assert "failed 3 times in a row" in text and "could not read your calendar feed" in text
        assert "iCal file" not in text and str(session_home) not in text  # no raw error, no server paths
        assert len(_ops_mail(settings.outbox, f"user {uid} failed 3 slots in a row")) == 1

        again = asyncio.run(notify_users(settings))  # the next sweep: nothing new for this user
        assert uid not in [u for u, _ in again.alert + again.notify + again.open]
        assert len(receiver.wait_for(f"user {uid} failed 3 slots in a row", settle=3)) == 1
        assert len(emails_for(settings.outbox, uid)) == 1

        # fixed: the next slot goes out, the notice closes (a later failing streak would be told again)
        ics.write_bytes(build_ics(PEOPLE[0], dt.date.today()))
        ok = wait_final(create_scheduled_run(dep, uid, now - dt.timedelta(minutes=10)))
        assert ok.state_name == "Completed", ok.state and ok.state.message
        closed = asyncio.run(notify_users(settings))
        assert (uid, NoticeKind.FAILING) in closed.close
        assert NoticeStore(make_engine(settings.store_url)).get(uid, NoticeKind.FAILING) is None
    finally:
        if main(["users", "remove", uid]) == 0:
            asyncio.run(sync(load_settings()))


def test_reconnect_notice_is_sent_once_until_fixed(alerts_on: Settings, session_home: Path) -> None:
    from novel_events.store import UserStore

    uid = unique_id("revoked")
    settings = load_settings()
    add_user(uid)  # a Google user
    users = UserStore(make_engine(settings.store_url))
    try:
        users.set_needs_reconnect(uid, True)  # what a fetch does on invalid_grant
        first = asyncio.run(notify_users(settings))
        assert (uid, NoticeKind.RECONNECT) in [(u, p.kind) for u, p in first.notify]
        asyncio.run(notify_users(settings))
        (told,) = emails_for(settings.outbox, uid)
        assert "reconnect your calendar" in _plain(told)
        users.set_needs_reconnect(uid, False)  # `novel-events connect` or a good fetch
        assert (uid, NoticeKind.RECONNECT) in asyncio.run(notify_users(settings)).close
        users.set_needs_reconnect(uid, True)  # broken again: told again
        asyncio.run(notify_users(settings))
        assert len(emails_for(settings.outbox, uid)) == 2
    finally:
        main(["users", "remove", uid])


def test_late_run_alerts_once(alerts_on: Settings, receiver: Receiver) -> None:
    uid = unique_id("late")
    add_user(uid)
    try:
        asyncio.run(sync(load_settings()))
        dep = deploy_on_own_pool(uid, f"nobody-{uid}")  # a pool no worker polls: the run stays Late
        run_id = create_scheduled_run(dep, uid, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=20))
        alerts = receiver.wait_for(f"user-{uid} Late over 0.25 min", timeout=120)
        assert len(alerts) == 1, alerts
        _assert_shape(alerts[0], uid)
        assert f"/runs/flow-run/{run_id}" in alerts[0]["body"] and "not started" in alerts[0]["body"]
        assert len(_ops_mail(load_settings().outbox, f"user-{uid} Late")) == 1

        async def cleanup() -> None:
            async with get_client() as client:
                await client.delete_flow_run(run_id)

        asyncio.run(cleanup())
    finally:
        if main(["users", "remove", uid]) == 0:
            asyncio.run(sync(load_settings()))


def test_digest_missed_event_alerts_once(alerts_on: Settings, receiver: Receiver) -> None:
    uid = unique_id("missed")
    run_id = str(uuid.uuid4())
    emit_event(
        event=MISSED_EVENT,
        resource=user_resource(uid),
        payload={"slot": "2026-12-03T06:30Z", "reason": "SMTP relay down (3 attempts)", "flow_run_id": run_id},
    )
    (alert,) = receiver.wait_for(f"user {uid} missed the digest of 2026-12-03T06:30Z")
    _assert_shape(alert, uid)
    assert "SMTP relay down" in alert["body"] and f"/runs/flow-run/{run_id}" in alert["body"]
    assert len(_ops_mail(load_settings().outbox, f"user {uid} missed the digest")) == 1


def test_failed_maintenance_alerts_once(alerts_on: Settings, receiver: Receiver, tmp_path: Path) -> None:
    from flows.maintenance import reconcile_flow

    # The store cannot be opened: the real maintenance flow fails (no retries here, to keep the test short).
    with environ({"NOVEL_EVENTS_DATABASE_URL": f"sqlite:///{tmp_path}/no/such/dir/x.db"}):
        state = asyncio.run(reconcile_flow.with_options(retries=0)(return_state=True))  # type: ignore[call-overload]
    assert state.is_failed(), state
    run_id = str(state.state_details.flow_run_id)
    alerts = receiver.wait_for("maintenance Failed", run_id)
    assert len(alerts) == 1, alerts
    _assert_shape(alerts[0], None)
    assert f"/runs/flow-run/{run_id}" in alerts[0]["body"] and "unable to open database" in alerts[0]["body"]


def test_pool_without_healthy_worker_alerts_once(
    alerts_on: Settings, receiver: Receiver, session_home: Path, initialized: str
) -> None:
    pool = f"pool-{uuid.uuid4().hex[:8]}"
    # this test's pool is the one watched; email off (its alert runs would need a worker on that very pool)
    settings = _settings(receiver, work_pool=pool, alert_email=None)

    async def make_pool() -> None:
        from deployments.pool import ensure_pool

        async with get_client() as client:
            await ensure_pool(client, pool)

    asyncio.run(make_pool())
    _ensure(settings)
    try:
        child = start_worker(
            initialized,
            pool,
            session_home / f"{pool}.log",
            poll_seconds=1,
            env={"PREFECT_WORKER_HEARTBEAT_SECONDS": "3"},
        )
        try:
            deadline = time.monotonic() + 60

            async def status() -> str | None:
                async with get_client() as client:
                    found = (await client.read_work_pool(pool)).status
                    return found.value if found else None

            while time.monotonic() < deadline and asyncio.run(status()) != "READY":
                time.sleep(1)
            assert asyncio.run(status()) == "READY", "the worker never made the pool ready"
        finally:
            child.stop()  # the only worker dies: after its heartbeats stop, the pool is not ready
        alerts = receiver.wait_for(f"work pool '{pool}' has no healthy worker", timeout=150)
        assert len(alerts) == 1, alerts
        _assert_shape(alerts[0], None)
        assert f"/work-pools/work-pool/{pool}" in alerts[0]["body"]
    finally:
        _ensure(alerts_on)
