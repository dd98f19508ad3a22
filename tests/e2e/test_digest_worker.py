"""Digests through a real process worker: every way of starting a run, one email per slot."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from prefect.states import Scheduled

from cli.app import main
from deployments.sync import sync
from novel_events.samples import PEOPLE, build_ics
from novel_events.settings import load_settings
from novel_events.store import Ledger, Status, make_engine
from tests.support.env import unique_id
from tests.support.prefect import add_user, emails_for, wait_final

pytestmark = pytest.mark.e2e


@pytest.fixture
def ics_user(worker: object, session_home: Path) -> str:
    uid = unique_id("e2e")
    path = session_home / f"{uid}.ics"
    path.write_bytes(build_ics(PEOPLE[0], dt.date.today()))
    add_user(uid, tz="Europe/Berlin", source=f"ics:{path}")
    asyncio.run(sync(load_settings()))
    return uid


def _ledger() -> Ledger:
    return Ledger(make_engine(load_settings().store_url))


def _runs_for(uid: str) -> list:  # type: ignore[type-arg]
    async def read() -> list:  # type: ignore[type-arg]
        async with get_client() as client:
            tags = FlowRunFilterTags(all_=[f"user:{uid}"])
            return await client.read_flow_runs(flow_run_filter=FlowRunFilter(tags=tags))

    return asyncio.run(read())


def test_prefect_cli_run_sends_a_digest(ics_user: str) -> None:
    outbox = load_settings().outbox
    name = f"novel-events-digest/user-{ics_user}"
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "prefect"), "deployment", "run", name],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    (run,) = [r for r in _runs_for(ics_user) if not r.auto_scheduled]  # not the scheduler's future runs
    final = wait_final(run.id)
    assert final.state is not None and final.state.is_completed(), final.state
    assert "sent; 3 novel events" in (final.state.message or "")
    (eml,) = emails_for(outbox, ics_user)
    text = eml.read_text()
    assert f"To: {ics_user}@example.org" in text and "Flight to Lisbon" in text and "Dentist" in text
    assert "Daily standup" not in text  # routine stays out


def test_novel_events_run_wait(ics_user: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", ics_user, "--wait", "--timeout", "180"]) == 0
    out = capsys.readouterr().out
    assert "Completed" in out and "sent" in out
    assert len(emails_for(load_settings().outbox, ics_user)) == 1
    # a manual run gets its own slot: a second one sends again
    assert main(["run", ics_user, "--wait", "--timeout", "180"]) == 0
    assert len(emails_for(load_settings().outbox, ics_user)) == 2


def test_dry_run_sends_nothing(ics_user: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", ics_user, "--wait", "--dry-run", "--timeout", "180"]) == 0
    assert "dry run; 3 novel events" in capsys.readouterr().out
    assert emails_for(load_settings().outbox, ics_user) == []


def _scheduled_run(uid: str, at: dt.datetime):  # type: ignore[no-untyped-def]
    async def create():  # type: ignore[no-untyped-def]
        async with get_client() as client:
            dep = await client.read_deployment_by_name(f"novel-events-digest/user-{uid}")
            return await client.create_flow_run_from_deployment(
                dep.id, parameters={"user_id": uid}, state=Scheduled(scheduled_time=at)
            )

    return asyncio.run(create())


def test_two_runs_for_one_scheduled_slot_send_one_email(ics_user: str) -> None:
    slot_time = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    first = wait_final(_scheduled_run(ics_user, slot_time).id)
    second = wait_final(_scheduled_run(ics_user, slot_time + dt.timedelta(seconds=30)).id)
    assert first.state.is_completed() and second.state.is_completed()  # type: ignore[union-attr]
    assert "sent" in first.state.message  # type: ignore[union-attr,operator]
    assert "already sent" in second.state.message  # type: ignore[union-attr,operator]
    assert len(emails_for(load_settings().outbox, ics_user)) == 1
    d = _ledger().get(ics_user, slot_time.strftime("%Y-%m-%dT%H:%MZ"))
    assert d is not None and d.status is Status.SENT and d.flow_run_id == str(first.id)


def test_run_later_than_catch_up_window_is_missed(ics_user: str) -> None:
    slot_time = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(hours=3)
    run = wait_final(_scheduled_run(ics_user, slot_time).id)
    assert run.state is not None and run.state.is_completed()
    assert "missed" in (run.state.message or "")
    assert emails_for(load_settings().outbox, ics_user) == []
    d = _ledger().get(ics_user, slot_time.strftime("%Y-%m-%dT%H:%MZ"))
    assert d is not None and d.status is Status.MISSED


def test_status_shows_the_runs(ics_user: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", ics_user, "--wait", "--timeout", "180"]) == 0
    capsys.readouterr()
    assert main(["status", "--user", ics_user, "--json"]) == 0
    import json

    (row,) = json.loads(capsys.readouterr().out)
    assert row["user"] == ics_user and row["state"] == "Completed" and row["delivery"] == "sent"
    assert row["manual"] is True and row["providerId"].startswith("outbox:")


def test_maintenance_deployment_reconciles_through_the_worker(worker: object, session_home: Path) -> None:
    """The scheduled maintenance job runs the same reconcile as `sync`: a new user gets a deployment."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    asyncio.run(sync(load_settings()))  # make sure the maintenance deployment exists
    uid = unique_id("maint")
    add_user(uid, source="google")
    fr = run_deployment(name="novel-events-reconcile/maintenance", timeout=0)
    assert isinstance(fr, FlowRun)
    final = wait_final(fr.id)
    assert final.state is not None and final.state.is_completed(), final.state
    assert "1 created" in (final.state.message or "")

    async def read():  # type: ignore[no-untyped-def]
        async with get_client() as client:
            return await client.read_deployment_by_name(f"novel-events-digest/user-{uid}")

    assert asyncio.run(read()).parameters == {"user_id": uid}
    assert main(["users", "remove", uid]) == 0
    asyncio.run(sync(load_settings()))


def test_nothing_novel_skips_or_sends_a_short_note(
    worker: object, session_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from novel_events.samples import SamplePerson

    routine_only = SamplePerson(
        "r", "r@example.org", "Europe/Berlin", "daily", "07:00", None, (("Standup", "MO,TU,WE,TH,FR", "09:30", 15),), ()
    )
    uid = unique_id("calm")
    ics = session_home / f"{uid}.ics"
    ics.write_bytes(build_ics(routine_only, dt.date.today()))
    add_user(uid, source=f"ics:{ics}")
    asyncio.run(sync(load_settings()))
    outbox = load_settings().outbox

    assert main(["run", uid, "--wait", "--timeout", "180"]) == 0
    assert "nothing novel" in capsys.readouterr().out
    assert emails_for(outbox, uid) == []

    assert main(["users", "set", uid, "--send-when-empty"]) == 0
    assert main(["run", uid, "--wait", "--timeout", "180"]) == 0
    assert "sent; 0 novel events" in capsys.readouterr().out
    (eml,) = emails_for(outbox, uid)
    assert "Subject: Nothing out of the ordinary" in eml.read_text()
