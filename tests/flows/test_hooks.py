"""A failed digest run also leaves its summary: the on_failure hook, on a real server."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace
from uuid import uuid4

import pytest
from prefect import flow, get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.hooks import digest_failed_summary, failed_summary
from novel_events.errors import PermanentError
from novel_events.store import Status
from tasks.artifacts import artifact_key
from tests.support.env import unique_id

pytestmark = pytest.mark.e2e


@flow(name="novel-events-hook-check", on_failure=[digest_failed_summary])
def failing_digest(user_id: str, manual: bool = True) -> None:
    raise PermanentError("cannot read iCal file /nowhere.ics")


def test_failed_run_leaves_a_summary_artifact(initialized: str) -> None:
    uid = unique_id("hook")
    state = failing_digest(user_id=uid, return_state=True)  # type: ignore[call-overload]
    assert state.is_failed()
    run_id = state.state_details.flow_run_id

    async def read() -> list:  # type: ignore[type-arg]
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[artifact_key(uid)]))
            )

    (artifact,) = [a for a in asyncio.run(read()) if a.flow_run_id == run_id]
    assert "**failed** — Flow run encountered an exception: PermanentError: cannot read iCal file" in str(artifact.data)


def test_failed_summary_counts_a_failed_send() -> None:
    run = SimpleNamespace(
        id=uuid4(),
        parameters={"user_id": "ada"},
        start_time=dt.datetime.now(dt.UTC),
        expected_start_time=dt.datetime(2026, 12, 2, 6, 30, tzinfo=dt.UTC),
    )
    state = SimpleNamespace(name="Failed", message="SMTP 550 mailbox unavailable")
    s = failed_summary(run, state, ledger_status=Status.FAILED, backend="smtp")
    assert (s.result, s.slot, s.emails_failed, s.backend) == ("failed", "2026-12-02T06:30Z", 1, "smtp")
    s = failed_summary(run, state, ledger_status=None, backend="smtp")
    assert (s.emails_failed, s.backend) == (0, None)
