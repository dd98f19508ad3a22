"""/api/v1 end to end: the app in-process, the real Prefect server and a real process worker, mail in the outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from prefect import get_client
from prefect.exceptions import ObjectNotFound

from novel_events.novelty import MuteRule
from novel_events.novelty.normalize import title_keys
from novel_events.samples import PEOPLE, build_ics
from novel_events.settings import Settings
from tasks import store
from tests.support.env import unique_id
from tests.support.prefect import emails_for, wait_final
from tests.support.web import API_TOKEN
from web.app import create_app

pytestmark = pytest.mark.e2e
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def _deployment(uid: str) -> Any:
    async def read() -> Any:
        async with get_client() as c:
            return await c.read_deployment_by_name(f"novel-events-digest/user-{uid}")

    return asyncio.run(read())


@pytest.fixture
def api(client: TestClient) -> TestClient:
    client.headers.update(AUTH)
    return client


@pytest.fixture
def ics_source(session_home: Path) -> str:
    path = session_home / f"{unique_id('feed')}.ics"
    path.write_bytes(build_ics(PEOPLE[0], dt.date.today()))
    return f"ics:{path}"


def _body(ics_source: str, **changes: Any) -> dict[str, Any]:
    return {
        "email": "kim@example.org",
        "timezone": "America/Denver",
        "schedule": "weekly",
        "day": "sun",
        "at": "18:00",
        "source": ics_source,
        "lookahead_days": 14,
        **changes,
    }


def test_token_required(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {API_TOKEN}"}):
        r = client.get("/api/v1/users/anyone", headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", headers
    assert client.get("/openapi.json").json()["paths"]["/api/v1/users/{user_id}"]["put"]
    assert client.get("/docs").status_code == 200


def test_put_get_replace_delete(api: TestClient, ics_source: str) -> None:
    uid = unique_id("api")
    created = api.put(f"/api/v1/users/{uid}", json=_body(ics_source))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["deployment"] == "created" and body["source"] == "ics"  # the feed location is not echoed
    assert ics_source.split(":", 1)[1] not in created.text and API_TOKEN not in created.text
    dep = _deployment(uid)
    assert (dep.schedules[0].schedule.cron, dep.schedules[0].schedule.timezone) == ("0 18 * * 0", "America/Denver")
    assert api.get(f"/api/v1/users/{uid}").json()["schedule"] == "weekly"
    replaced = api.put(f"/api/v1/users/{uid}", json=_body(ics_source, schedule="daily", day=None, enabled=False))
    assert replaced.status_code == 200 and replaced.json()["deployment"] == "updated"
    assert replaced.json()["next_digest"] is None
    dep = _deployment(uid)
    assert dep.paused and dep.schedules[0].schedule.cron == "0 18 * * *"  # reconciled before the answer
    assert api.delete(f"/api/v1/users/{uid}").status_code == 204
    assert api.get(f"/api/v1/users/{uid}").status_code == 404
    with pytest.raises(ObjectNotFound):
        _deployment(uid)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"at": "25:00"}, "at", "is not a time of day; use HH:MM from 00:00 to 23:59"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Mars/Olympus"),
        ({"schedule": "hourly"}, "schedule", "is not one of daily, weekdays, weekends, weekly"),
        ({"schedule": "daily"}, "day", "only goes with --schedule weekly"),
        ({"email": "nope"}, "email", "is not an email address"),
        ({"lookahead_days": 99}, "lookahead_days", "out of range"),
        ({"lookahead_days": "many"}, "lookahead_days", ""),
        ({"sensitivity": "max"}, "sensitivity", "is not one of low, normal, high"),
        ({"source": "ftp:x"}, "source", "use google or ics:URL_OR_PATH"),
        ({"colour": "blue"}, "colour", ""),
    ],
)
def test_bad_input_is_422_naming_the_field_and_changes_nothing(
    api: TestClient, ics_source: str, changes: dict[str, Any], field: str, words: str
) -> None:
    uid = unique_id("api")
    r = api.put(f"/api/v1/users/{uid}", json=_body(ics_source, **changes))
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["loc"][-1] == field and words in err["msg"]
    assert api.get(f"/api/v1/users/{uid}").status_code == 404


def test_bad_id_and_unknown_user(api: TestClient, ics_source: str) -> None:
    r = api.put("/api/v1/users/Not%20An%20Id", json=_body(ics_source))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "id"]
    assert api.get("/api/v1/users/nobody-here").status_code == 404
    assert api.delete("/api/v1/users/nobody-here").status_code == 404
    assert api.post("/api/v1/users/nobody-here/runs", json={"dry_run": False}).status_code == 404
    assert api.get("/api/v1/users/nobody-here/runs").status_code == 404


def test_run_now_delivers_and_is_listed(api: TestClient, ics_source: str, worker: object) -> None:
    uid = unique_id("api")
    assert api.put(f"/api/v1/users/{uid}", json=_body(ics_source, email=f"{uid}@example.org")).status_code == 201
    r = api.post(f"/api/v1/users/{uid}/runs", json={"dry_run": False})
    assert r.status_code == 202, r.text
    run_id = r.json()["flow_run_id"]
    final = wait_final(UUID(run_id))
    assert final.state is not None and final.state.is_completed() and "sent" in (final.state.message or "")
    (eml,) = emails_for(Settings().outbox, uid)
    assert f"To: {uid}@example.org" in eml.read_text() and "Flight to Lisbon" in eml.read_text()
    runs = api.get(f"/api/v1/users/{uid}/runs").json()["runs"]
    (row,) = [x for x in runs if x["flow_run_id"] == run_id]
    assert row["slot"] == f"manual:{run_id}" and row["state"] == "Completed" and row["delivery"] == "sent"
    assert "sent" in row["outcome"]
    assert API_TOKEN not in json.dumps(runs)
    # "Not new to me" on the dentist: the next digest leaves it out (the worker reads the rule from the store)
    assert "Dentist" in eml.read_text()
    store.mutes().add(uid, MuteRule("title", title_keys("Dentist").full, "Dentist"))
    again = api.post(f"/api/v1/users/{uid}/runs", json={}).json()["flow_run_id"]
    assert "sent" in (wait_final(UUID(again)).state.message or "")  # type: ignore[union-attr]
    (second,) = [p for p in emails_for(Settings().outbox, uid) if p != eml]
    assert "Dentist" not in second.read_text() and "Flight to Lisbon" in second.read_text()


def test_api_is_rate_limited(web_settings: Settings) -> None:
    with TestClient(create_app(web_settings, api_per_minute=2)) as c:
        codes = [c.get("/api/v1/users/x", headers=AUTH).status_code for _ in range(3)]
    assert codes == [404, 404, 429]
