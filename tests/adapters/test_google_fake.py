"""The fake Google keeps Google's rules, so the adapter tests mean something. Plain HTTP (httpx)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.google_calendar import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.support.google import PRIMARY, GoogleUser

ROOT = Path(__file__).resolve().parents[2]


def _client(user: GoogleUser) -> httpx.Client:
    token = httpx.post(
        user.fake.token_uri,
        data={
            "grant_type": "refresh_token",
            "refresh_token": user.grant.refresh_token,
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
    ).json()["access_token"]
    return httpx.Client(base_url=user.fake.base_url, headers={"Authorization": f"Bearer {token}"})


def _events(client: httpx.Client, **params: Any) -> httpx.Response:
    return client.get(f"calendars/{PRIMARY}/events", params=params)


def _reason(response: httpx.Response) -> str:
    return str(response.json()["error"]["errors"][0]["reason"])


@pytest.mark.parametrize(
    "extra",
    [
        {"timeMin": "2025-01-01T00:00:00Z"},
        {"timeMax": "2025-01-01T00:00:00Z"},
        {"orderBy": "startTime"},
        {"q": "standup"},
        {"updatedMin": "2025-01-01T00:00:00Z"},
        {"iCalUID": "x@google.com"},
    ],
)
def test_sync_token_with_a_forbidden_parameter_is_400(google_user: GoogleUser, extra: dict[str, str]) -> None:
    with _client(google_user) as client:
        token = _events(client, singleEvents="true", maxResults=2500).json()["nextSyncToken"]
        response = _events(client, singleEvents="true", syncToken=token, **extra)
    assert response.status_code == 400
    assert next(iter(extra)) in response.json()["error"]["message"]


def test_rules_of_events_list(google_user: GoogleUser) -> None:
    with _client(google_user) as client:
        assert _events(client, orderBy="startTime").status_code == 400  # needs singleEvents
        empty = _events(client, timeMin="2025-02-01T00:00:00Z", timeMax="2025-01-01T00:00:00Z")
        assert empty.status_code == 400 and _reason(empty) == "timeRangeEmpty"
        assert _events(client, timeMin="2025-01-01T00:00:00").status_code == 400  # offset is mandatory
        assert _events(client, maxResults=0).status_code == 400
        assert _events(client, syncToken="st_unknown").status_code == 410

        pages = [_events(client, singleEvents="true", maxResults=20).json()]
        while "nextPageToken" in pages[-1]:
            assert "nextSyncToken" not in pages[-1]
            pages.append(
                _events(client, singleEvents="true", maxResults=20, pageToken=pages[-1]["nextPageToken"]).json()
            )
        assert len(pages) == 3 and "nextSyncToken" in pages[-1]
        assert sum(len(p["items"]) for p in pages) == 55

        collapsed = _events(client).json()["items"]  # singleEvents=false: one item per series
        assert sorted(e["id"] for e in collapsed) == ["dentist", "standup"]

        ordered = _events(client, singleEvents="true", orderBy="startTime", maxResults=5000).json()
        assert "nextSyncToken" not in ordered  # conservative: no token for an ordered query
        starts = [e["start"]["dateTime"] for e in ordered["items"]]
        assert starts == sorted(starts) and len(starts) == 55  # maxResults capped at 2500, not an error


def test_incremental_results_carry_bare_cancellations(google_user: GoogleUser) -> None:
    with _client(google_user) as client:
        token = _events(client, singleEvents="true").json()["nextSyncToken"]
        google_user.account.delete_event(PRIMARY, "dentist")
        google_user.account.update_event(PRIMARY, "standup_3", {"summary": "Standup (long)"})
        changes = _events(client, singleEvents="true", syncToken=token).json()
        assert len(changes["items"]) == 2 and changes["nextSyncToken"] != token
        cancelled = next(e for e in changes["items"] if e["id"] == "dentist")
        assert set(cancelled) <= {"kind", "etag", "id", "status"} and cancelled["status"] == "cancelled"
        assert _events(client, singleEvents="false", syncToken=changes["nextSyncToken"]).status_code == 400

        google_user.account.invalidate_sync_tokens(PRIMARY)
        gone = _events(client, singleEvents="true", syncToken=changes["nextSyncToken"])
        assert gone.status_code == 410 and _reason(gone) == "fullSyncRequired"


def test_auth_is_checked(google_user: GoogleUser) -> None:
    url = google_user.fake.base_url + "users/me/calendarList"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer ya29.made-up"}).status_code == 401
    refused = httpx.post(
        google_user.fake.token_uri,
        data={
            "grant_type": "refresh_token",
            "refresh_token": "1//nope",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_requests_are_recorded_with_bytes(google_user: GoogleUser) -> None:
    google_user.fetch()
    events = google_user.events_requests()
    assert events and all(r.method == "GET" and r.status == 200 and r.bytes_sent > 0 for r in events)


def test_command_line_serves_a_dump(tmp_path: Path) -> None:
    dump = tmp_path / "dump.json"
    dump.write_text(
        json.dumps(
            {
                "timeZone": "UTC",
                "calendars": [{"id": "me@example.com", "summary": "Me", "primary": True, "items": []}],
            }
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.google_calendar", str(dump), "--refresh-token", "1//cli-token"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        lines = dict(line.split(":", 1) for line in (proc.stdout.readline() for _ in range(4)))
        base, token_uri = lines["base URL"].strip(), lines["token URI"].strip()
        assert base.startswith("http://127.0.0.1:") and base.endswith("/calendar/v3/")
        access = httpx.post(
            token_uri,
            data={
                "grant_type": "refresh_token",
                "refresh_token": "1//cli-token",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
            },
        ).json()["access_token"]
        tz = httpx.get(base + "users/me/settings/timezone", headers={"Authorization": f"Bearer {access}"})
        assert tz.json()["value"] == "UTC"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
