"""The Prefect API needs its auth string; workers still run digests, over http feeds under the address policy."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os

import httpx
import pytest

from cli.app import main
from deployments.sync import sync
from novel_events.samples import PEOPLE, build_ics
from novel_events.settings import load_settings
from tests.fakes.hostile_http import SECRET, HostileHTTP
from tests.support.env import unique_id
from tests.support.prefect import add_user, emails_for

pytestmark = pytest.mark.e2e


def test_the_api_refuses_requests_without_the_auth_string(initialized: str) -> None:
    auth = os.environ["PREFECT_API_AUTH_STRING"]
    assert len(auth) >= 32
    assert httpx.get(f"{initialized}/health", timeout=10).status_code == 200  # probes stay open
    for headers in (
        {},
        {"Authorization": "Basic " + base64.b64encode(b"novel-events:guess").decode()},
        {"Authorization": f"Bearer {auth}"},
    ):
        r = httpx.post(
            f"{initialized}/block_documents/filter", json={"include_secrets": True}, headers=headers, timeout=10
        )
        assert r.status_code == 401, r.text
        assert "refresh_token" not in r.text
    ok = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}
    r = httpx.post(f"{initialized}/block_documents/filter", json={}, headers=ok, timeout=10)
    assert r.status_code == 200


def test_the_server_secrets_are_private_files(initialized: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    from cli.server_secrets import AUTH_FILE, KEY_FILE

    folders = list(tmp_path_factory.getbasetemp().glob("prefect-secrets*"))
    assert folders
    for name in (AUTH_FILE, KEY_FILE):
        path = folders[0] / name
        assert path.stat().st_mode & 0o777 == 0o600
    assert folders[0].stat().st_mode & 0o777 == 0o700
    assert path.read_text().strip() != ""


def test_a_worker_runs_a_digest_from_an_http_feed(
    worker: object, feed_server: HostileHTTP, capsys: pytest.CaptureFixture[str]
) -> None:
    uid = unique_id("http")
    url = feed_server.put(f"{uid}.ics", build_ics(PEOPLE[0], dt.date.today()))
    add_user(uid, source=f"ics:{url}")
    asyncio.run(sync(load_settings()))
    assert main(["run", uid, "--wait", "--timeout", "180"]) == 0
    assert "sent; 3 novel events" in capsys.readouterr().out
    assert len(emails_for(load_settings().outbox, uid)) == 1


def test_a_feed_redirecting_inward_fails_once_and_quotes_nothing(
    worker: object, feed_server: HostileHTTP, capsys: pytest.CaptureFixture[str]
) -> None:
    with HostileHTTP() as inside:  # a server the policy does not allow: "the inside"
        uid = unique_id("ssrf")
        target = inside.url("/" + uid)
        add_user(uid, source="ics:" + feed_server.url(f"/redirect?to={target}"))
        asyncio.run(sync(load_settings()))
        capsys.readouterr()
        assert main(["run", uid, "--wait", "--timeout", "180"]) == 1
        out = capsys.readouterr().out
        assert "address not allowed" in out and SECRET not in out and "internal reply" not in out
        assert inside.requests == []  # never reached
    hits = [p for p, _ in feed_server.requests if p.startswith("/redirect") and uid in p]
    assert len(hits) == 1  # a permanent error is not retried
    assert main(["status", "--user", uid, "--json"]) == 0
    assert SECRET not in capsys.readouterr().out
