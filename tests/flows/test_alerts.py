"""Failure alerting through a real Prefect automation: a digest run fails, a local webhook hears about it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from prefect import get_client
from pydantic import SecretStr

from cli.app import main
from deployments.automations import AUTOMATION_NAME, BLOCK_NAME, BLOCK_TYPE_SLUG, ensure_automations
from deployments.sync import sync
from novel_events.samples import PEOPLE, build_ics
from novel_events.settings import Settings, load_settings
from tests.support.alerts import Receiver
from tests.support.env import unique_id
from tests.support.prefect import add_user

pytestmark = pytest.mark.e2e


def _ensure(settings: Settings) -> list[str]:
    async def go() -> list[str]:
        async with get_client() as client:
            return await ensure_automations(client, settings)

    return asyncio.run(go())


def _read_state() -> tuple[list[Any], Any]:
    """(automations named AUTOMATION_NAME, the block document as the API shows it without secrets or None)."""
    from prefect.exceptions import ObjectNotFound

    async def go() -> tuple[list[Any], Any]:
        async with get_client() as client:
            automations = await client.read_automations_by_name(AUTOMATION_NAME)
            try:
                doc = await client.read_block_document_by_name(BLOCK_NAME, BLOCK_TYPE_SLUG, include_secrets=False)
            except ObjectNotFound:
                doc = None
            return automations, doc

    return asyncio.run(go())


def _pause(automation_id: uuid.UUID) -> None:
    async def go() -> None:
        async with get_client() as client:
            await client.pause_automation(automation_id)

    asyncio.run(go())


def test_failed_digest_reaches_the_webhook(
    worker: object, session_home: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    on = Settings(alert_webhook_url=SecretStr(receiver.url), alert_email=None)
    off = Settings(alert_webhook_url=None, alert_email=None)
    uid = unique_id("alert")
    try:
        # as code, idempotent
        first = _ensure(on)
        assert f"automation: {AUTOMATION_NAME} created" in first, first
        (created,), doc = _read_state()
        second = _ensure(on)
        assert f"automation: {AUTOMATION_NAME} unchanged" in second, second
        assert f"block: Custom Webhook '{BLOCK_NAME}' unchanged" in second
        (again,), _ = _read_state()
        assert again.id == created.id
        _pause(created.id)  # drift (someone toggled it in the UI) is repaired in place
        assert f"automation: {AUTOMATION_NAME} updated" in _ensure(on)
        (repaired,), _ = _read_state()
        assert repaired.id == created.id and repaired.enabled

        # the secret stays secret: not in our lines, not in the automation, not in the block as the API shows it
        assert receiver.token not in json.dumps(first + second)
        assert receiver.token not in repaired.model_dump_json()
        assert receiver.token not in json.dumps(doc.data) and doc.data["secrets"] == {"webhook_url": "********"}
        assert "alert email: off (NOVEL_EVENTS_ALERT_EMAIL not set)" in second

        # a digest that fails for real: its iCal file is gone (a permanent error: the run ends Failed)
        ics = session_home / f"{uid}.ics"
        ics.write_bytes(build_ics(PEOPLE[0], dt.date.today()))
        add_user(uid, source=f"ics:{ics}")
        ics.unlink()
        asyncio.run(sync(load_settings()))
        capsys.readouterr()
        assert main(["run", uid, "--wait", "--timeout", "120"]) == 1
        out = capsys.readouterr().out
        assert "Failed" in out and "cannot read iCal file" in out, out
        match = re.search(r"flow run (.+) \([0-9a-f-]{36}\) for ", out)  # a readable name, spaces and all
        assert match, out
        run_name = match.group(1)

        deadline = time.monotonic() + 60
        mine: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not mine:
            mine = [body for _, body in list(receiver.posts) if f"user-{uid}" in json.dumps(body)]
            time.sleep(0.5)
        assert mine, f"no alert for user-{uid} within 60 s; got {receiver.posts!r}"
        (alert,) = mine  # exactly one alert per failed run
        path = next(p for p, body in receiver.posts if body is alert)
        assert path == f"/hooks/{receiver.token}"
        assert alert["subject"] == f"novel-events: user-{uid} Failed ({run_name})"
        body = alert["body"]
        assert f"Digest run {run_name} of novel-events-digest/user-{uid} ended Failed (manual run)." in body
        assert "cannot read iCal file" in body and f"User: {uid}" in body
        assert alert["text"].startswith(alert["subject"]) and alert["source"] == "novel-events"
        print("received alert:", json.dumps(alert, indent=1))  # shown with -s

        # removing the setting removes the automation and the stored secret
        lines = _ensure(off)
        assert f"automation: {AUTOMATION_NAME} removed" in lines
        assert f"block: Custom Webhook '{BLOCK_NAME}' removed" in lines
        assert _read_state() == ([], None)
        again_off = _ensure(off)
        assert f"automation: {AUTOMATION_NAME} off (NOVEL_EVENTS_ALERT_WEBHOOK_URL not set)" in again_off
        assert not [line for line in again_off if "removed" in line or "created" in line], again_off
    finally:
        _ensure(off)
        if main(["users", "remove", uid]) == 0:
            asyncio.run(sync(load_settings()))
