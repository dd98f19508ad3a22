"""What an operator sees after a few digests: readable run names, a summary artifact per run, the fleet in
`status`, and Prometheus metrics (in process and through `novel-events metrics`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prometheus_client.parser import text_string_to_metric_families

from cli.app import main
from cli.processes import base_env, free_port
from deployments.metrics import FleetMetrics
from deployments.sync import sync
from novel_events.samples import PEOPLE, build_ics
from novel_events.settings import load_settings
from tasks.artifacts import artifact_key
from tests.support.env import unique_id
from tests.support.prefect import add_user, create_scheduled_run, wait_final

pytestmark = pytest.mark.e2e

RUN_NAME = re.compile(
    r"^(?P<user>[a-z0-9_-]+) · (?:manual )?(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} "
    r"\d{2}:\d{2} [A-Z+\-0-9]+$"
)


def _samples(families: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def fleet(worker: object, session_home: Path) -> dict[str, Any]:
    """One good user and one broken user, each with a scheduled digest that ran through the worker."""
    good, bad = unique_id("fleet-ok"), unique_id("fleet-bad")
    metrics = FleetMetrics(load_settings(), backfill=dt.timedelta(minutes=1), min_interval=0)
    metrics.refresh()
    before = _samples(metrics.registry.collect())
    ics = session_home / f"{good}.ics"
    ics.write_bytes(build_ics(PEOPLE[0], dt.date.today()))
    add_user(good, "--send-when-empty", source=f"ics:{ics}", tz="America/Denver")
    gone = session_home / f"{bad}.ics"
    gone.write_bytes(ics.read_bytes())
    add_user(bad, source=f"ics:{gone}")
    gone.unlink()  # its digest fails for real
    asyncio.run(sync(load_settings()))

    async def deployment(uid: str) -> Any:
        async with get_client() as client:
            return (await client.read_deployment_by_name(f"novel-events-digest/user-{uid}")).id

    at = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=3)
    runs = {uid: wait_final(create_scheduled_run(asyncio.run(deployment(uid)), uid, at)) for uid in (good, bad)}
    yield {"good": good, "bad": bad, "runs": runs, "at": at, "metrics": metrics, "before": before}
    for uid in (good, bad):
        main(["users", "remove", uid])
    asyncio.run(sync(load_settings()))


def test_runs_are_named_for_the_user_and_slot_in_their_zone(fleet: dict[str, Any]) -> None:
    good = fleet["runs"][fleet["good"]]
    assert good.state_name == "Completed", good.state and good.state.message
    local = fleet["at"].astimezone(dt.timezone(dt.timedelta(hours=-7)))  # Denver in December: MST
    assert good.name == f"{fleet['good']} · {local:%a} {local.day} {local:%b %H:%M} MST"
    assert RUN_NAME.match(fleet["runs"][fleet["bad"]].name), fleet["runs"][fleet["bad"]].name

    async def task_names() -> list[str]:
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        async with get_client() as client:
            trs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[good.id])))
            return [t.name for t in trs]

    assert any("deliver" in n for n in asyncio.run(task_names()))


def test_each_digest_leaves_a_summary_artifact(fleet: dict[str, Any]) -> None:
    good = fleet["runs"][fleet["good"]]

    async def artifacts() -> list[Any]:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[artifact_key(fleet["good"])]))
            )

    (artifact,) = [a for a in asyncio.run(artifacts()) if a.flow_run_id == good.id]
    md = str(artifact.data)
    assert artifact.type == "markdown" and f"### Digest for {fleet['good']}" in md
    for row in ("Outcome", "Novel events", "Emails", "Started late by", "Duration", "Google API calls"):
        assert f"| {row} |" in md, md
    assert "1 sent, 0 failed via outbox" in md
    eml = next(load_settings().outbox.glob(f"*-{fleet['good']}-*.eml")).read_text()
    subject = re.search(r"^Subject: (.+)$", eml, re.M)
    assert subject and subject.group(1) not in md  # the digest's subject (event titles) stays out of the UI


def test_status_shows_the_fleet(fleet: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    week = data["fleet"]["windows"]["7d"]
    assert week["succeeded"] >= 1 and week["failed"] >= 1 and 0 < week["successRate"] < 1
    assert week["latenessSeconds"]["p95"] is not None and week["durationSeconds"]["p50"] is not None
    bad = [a for a in data["fleet"]["attention"] if a["user"] == fleet["bad"]]
    assert bad and "cannot read iCal file" in bad[0]["reasons"][0]
    assert {r["user"] for r in data["runs"]} >= {fleet["good"], fleet["bad"]}
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "7d" in out and "30d" in out and "users needing attention" in out and fleet["bad"] in out


def test_metrics_count_what_happened(fleet: dict[str, Any]) -> None:
    metrics, before = fleet["metrics"], fleet["before"]
    deadline = time.monotonic() + 30
    while True:  # the summary event travels through the server's event pipeline
        metrics.refresh()
        now = _samples(metrics.registry.collect())
        sent = _value(now, "novel_events_emails_total", backend="outbox", result="sent")
        if (
            sent > _value(before, "novel_events_emails_total", backend="outbox", result="sent")
            or time.monotonic() > deadline
        ):
            break
        time.sleep(1)
    assert sent - _value(before, "novel_events_emails_total", backend="outbox", result="sent") == 1
    assert (
        _value(now, "novel_events_digests_total", outcome="sent")
        - _value(before, "novel_events_digests_total", outcome="sent")
        == 1
    )
    assert (
        _value(now, "novel_events_digests_total", outcome="failed")
        - _value(before, "novel_events_digests_total", outcome="failed")
        >= 1
    )
    assert (
        _value(now, "novel_events_digest_start_lateness_seconds_count")
        - _value(before, "novel_events_digest_start_lateness_seconds_count")
        >= 2
    )
    assert _value(now, "novel_events_digest_duration_seconds_count") >= 2
    assert _value(now, "novel_events_users", state="enabled") >= 2
    assert _value(now, "novel_events_ledger_slots", status="sent") >= 1
    assert _value(now, "novel_events_source_up", source="prefect") == 1
    metrics.refresh()  # a second look counts nothing twice
    again = _samples(metrics.registry.collect())
    assert _value(again, "novel_events_digests_total", outcome="sent") == _value(
        now, "novel_events_digests_total", outcome="sent"
    )


def test_metrics_command_serves_prometheus_text(fleet: dict[str, Any], tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "metrics.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.app", "metrics", "--port", str(port), "--refresh", "0"],
        env=base_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline, r = time.monotonic() + 300, None  # the CLI imports Prefect first: slow on a busy machine
        while time.monotonic() < deadline and r is None:
            assert proc.poll() is None, (tmp_path / "metrics.log").read_text()
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=60)
            except httpx.HTTPError:
                time.sleep(1)
        assert r is not None, (tmp_path / "metrics.log").read_text()
        body = r.text
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        names = {f.name for f in text_string_to_metric_families(body)}
        assert {
            "novel_events_digests",
            "novel_events_digest_start_lateness_seconds",
            "novel_events_emails",
            "novel_events_google_api_calls",
            "novel_events_users",
            "novel_events_ledger_slots",
        } <= names
        assert 'novel_events_digests_total{outcome="sent"}' in body
        assert httpx.get(f"http://127.0.0.1:{port}/nope", timeout=10).status_code == 404
    finally:
        proc.terminate()
        proc.wait(20)
    assert main(["metrics", "--port", "70000"]) == 2
