"""SendGrid delivery through the real worker and the official client, against the local fake."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.processes import start_worker
from novel_events.samples import PEOPLE, build_ics
from novel_events.settings import load_settings
from novel_events.store import Ledger, Status, make_engine
from tests.fakes.sendgrid_server import FakeSendGrid, Reply
from tests.support.env import unique_id
from tests.support.prefect import add_user, create_scheduled_run, deploy_on_own_pool, wait_final

pytestmark = pytest.mark.e2e
API_KEY = "SG.test-key-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def sendgrid() -> Iterator[FakeSendGrid]:
    fake = FakeSendGrid(API_KEY)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def sendgrid_pool(initialized: str, session_home: Path, sendgrid: FakeSendGrid) -> Iterator[str]:
    pool = f"sendgrid-{uuid.uuid4().hex[:8]}"
    env = {
        "NOVEL_EVENTS_HOME": str(session_home),
        "NOVEL_EVENTS_EMAIL_BACKEND": "sendgrid",
        "NOVEL_EVENTS_SENDGRID_API_KEY": API_KEY,
        "NOVEL_EVENTS_SENDGRID_HOST": sendgrid.url,
        "NOVEL_EVENTS_UNSUBSCRIBE_URL": "https://digest.example.org/pause/{user_id}",
    }
    worker = start_worker(initialized, pool, session_home / f"{pool}.log", poll_seconds=1, env=env)
    yield pool
    worker.stop(grace=5)


def _user_on(pool: str, session_home: Path) -> tuple[str, object]:
    uid = unique_id("sg")
    ics = session_home / f"{uid}.ics"
    ics.write_bytes(build_ics(PEOPLE[2], dt.date.today()))
    add_user(uid, tz="Asia/Tokyo", source=f"ics:{ics}")
    return uid, deploy_on_own_pool(uid, pool)


def _slot() -> tuple[dt.datetime, str]:
    at = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    return at, at.strftime("%Y-%m-%dT%H:%MZ")


def test_sendgrid_send_after_a_429_records_the_provider_id(
    sendgrid_pool: str, sendgrid: FakeSendGrid, session_home: Path
) -> None:
    uid, dep = _user_on(sendgrid_pool, session_home)
    at, slot = _slot()
    sendgrid.enqueue(Reply.rate_limited(retry_after=1))
    run = wait_final(create_scheduled_run(dep, uid, at))  # type: ignore[arg-type]
    assert run.state is not None and run.state.is_completed(), run.state
    mine = [r for r in sendgrid.sends() if r.json["personalizations"][0]["to"][0]["email"] == f"{uid}@example.org"]
    assert len(mine) == 2  # one 429, one 202
    body = mine[-1].json
    assert body["headers"]["List-Unsubscribe"] == f"<https://digest.example.org/pause/{uid}>"
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert "Tax office appointment" in body["content"][0]["value"]
    d = Ledger(make_engine(load_settings().store_url)).get(uid, slot)
    assert d is not None and d.status is Status.SENT and d.provider_id and d.provider_id != d.message_id
    assert API_KEY not in (run.state.message or "")


def test_sendgrid_400_fails_the_run_once_with_the_reason(
    sendgrid_pool: str, sendgrid: FakeSendGrid, session_home: Path
) -> None:
    uid, dep = _user_on(sendgrid_pool, session_home)
    at, slot = _slot()
    sendgrid.enqueue(Reply.bad_request("The from address does not match a verified Sender Identity.", "from"))
    run = wait_final(create_scheduled_run(dep, uid, at))  # type: ignore[arg-type]
    assert run.state is not None and run.state.is_failed(), run.state
    assert "verified Sender Identity" in (run.state.message or "") and API_KEY not in (run.state.message or "")
    mine = [r for r in sendgrid.sends() if r.json["personalizations"][0]["to"][0]["email"] == f"{uid}@example.org"]
    assert len(mine) == 1  # permanent: no task retry
    d = Ledger(make_engine(load_settings().store_url)).get(uid, slot)
    assert d is not None and d.status is Status.FAILED and "Sender Identity" in (d.detail or "")
