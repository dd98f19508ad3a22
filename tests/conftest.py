"""Shared fixtures: one real ``prefect server start`` per session, one process worker, one state dir.

Tests isolate by unique user ids, never by restarting servers. Helpers live in tests/support/ (import
them from there, never from a conftest). Markers are applied here, so a new test cannot forget them:
``e2e`` for tests under tests/e2e/ and tests/flows/ or using the Prefect server fixtures, ``postgres``
for tests using the ``postgres_url`` fixture. ``make unit`` runs the rest.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.env import HEARTBEAT_SECONDS, ROOT, environ, strip_foreign_environment, unique_id

# Before anything reads settings: a clean environment whatever the developer's shell exports, and a
# private PREFECT_HOME so no profile (~/.prefect/profiles.toml may set PREFECT_API_URL) leaks in.
STRIPPED = strip_foreign_environment()
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="novel-events-tests-prefect-")
os.environ["NOVEL_EVENTS_HOME"] = tempfile.mkdtemp(prefix="novel-events-tests-home-")

__all__ = ["HEARTBEAT_SECONDS", "ROOT", "environ", "unique_id"]  # for older imports; use tests.support

SERVER_FIXTURES = frozenset({"prefect_api", "initialized", "worker"})
E2E_DIRS = ("e2e", "flows")
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
E2E_TIMEOUT = 600  # seconds per e2e test (others: pyproject's 300; `make unit`: 60)

if TYPE_CHECKING:
    from tests.fakes.hostile_http import HostileHTTP


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).parent
    for item in items:
        try:
            top = item.path.relative_to(tests_dir).parts[0]
        except ValueError:
            top = ""
        fixtures = set(getattr(item, "fixturenames", ()))
        if top in E2E_DIRS or fixtures & SERVER_FIXTURES:
            item.add_marker(pytest.mark.e2e)
            if item.get_closest_marker("timeout") is None:  # the first one also waits for the server and worker
                item.add_marker(pytest.mark.timeout(E2E_TIMEOUT))
        if "postgres_url" in fixtures:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The local PostgreSQL (trust auth, database ``test``); tests using it are marked ``postgres``."""
    return POSTGRES_URL


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """NOVEL_EVENTS_HOME for the whole session (SQLite store + outbox), set in the environment."""
    home = tmp_path_factory.mktemp("novel-home")
    # Tests run the maintenance job by hand: a scheduled one would sync in the middle of a test.
    # Local feeds: anything under this session's temp folder; remote feeds: the session's local feed server.
    with environ(
        {
            "NOVEL_EVENTS_HOME": str(home),
            "NOVEL_EVENTS_EMAIL_BACKEND": "outbox",
            "NOVEL_EVENTS_MAINTENANCE_EVERY_MINUTES": "0",
            "NOVEL_EVENTS_RECOVERY_EVERY_MINUTES": "0",
            "NOVEL_EVENTS_ICS_ROOT": str(tmp_path_factory.getbasetemp()),
            "NOVEL_EVENTS_ICS_ALLOW_PRIVATE": _feed_server().allow,
        }
    ):
        yield home
    _feed_server().stop()


_FEEDS: list[object] = []


def _feed_server() -> HostileHTTP:
    """One local feed server per session (tests/fakes/hostile_http.py), allow-listed by host:port."""
    from tests.fakes.hostile_http import HostileHTTP

    if not _FEEDS:
        _FEEDS.append(HostileHTTP().start())
    return _FEEDS[0]  # type: ignore[return-value]


@pytest.fixture(scope="session")
def feed_server(session_home: Path) -> HostileHTTP:
    """The allow-listed local HTTP feed server (``/ok``, ``/status/404``, ``/redirect?to=…``, …)."""
    return _feed_server()


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory, session_home: Path) -> Iterator[str]:
    """A real Prefect server (SQLite) with a fast scheduler loop; PREFECT_API_URL points at it."""
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    from cli.processes import start_server

    # timeout: a loaded 2-core machine (parallel suites) can take minutes to bring a server up
    server, api = start_server(
        tmp_path_factory.mktemp("prefect-home"),
        scheduler_loop=2,
        timeout=600,
        secrets_dir=tmp_path_factory.mktemp("prefect-secrets"),
        extra_env={
            # a dead run's deployment-concurrency lease expires after 30 s (the minimum), checked every 2 s
            "PREFECT_SERVER_CONCURRENCY_INITIAL_DEPLOYMENT_LEASE_DURATION": "30",
            "PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": "2",
        },
    )
    try:
        # the server refuses requests without the auth string; clients (and workers, via the
        # environment) send it
        auth = server.client_env["PREFECT_API_AUTH_STRING"]
        with (
            environ({"PREFECT_API_URL": api, **server.client_env}),
            temporary_settings(updates={PREFECT_API_URL: api, PREFECT_API_AUTH_STRING: auth}),
        ):
            yield api
    finally:
        server.stop()


@pytest.fixture(scope="session")
def initialized(prefect_api: str, session_home: Path) -> str:
    """Store schema, store block and work pool exist."""
    import asyncio

    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from deployments.bootstrap import init
    from novel_events.settings import load_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: HEARTBEAT_SECONDS}):
        asyncio.run(init(load_settings()))  # zombie automation: crashed after 3 missed 30 s heartbeats
    return prefect_api


@pytest.fixture(scope="session")
def session_google() -> Iterator[object]:
    """A fake Google (Calendar API + OAuth token endpoint) selected by settings for the session."""
    from tests.fakes.google_calendar import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeGoogleCalendar

    fake = FakeGoogleCalendar().start()
    env = {
        "NOVEL_EVENTS_GOOGLE_API_ENDPOINT": fake.base_url,
        "NOVEL_EVENTS_GOOGLE_TOKEN_URI": fake.token_uri,
        "NOVEL_EVENTS_GOOGLE_CLIENT_ID": DEFAULT_CLIENT_ID,
        "NOVEL_EVENTS_GOOGLE_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
    }
    with environ(env):
        yield fake
    fake.stop()


@pytest.fixture(scope="session")
def worker(initialized: str, session_home: Path, session_google: object) -> Iterator[object]:
    """One real process worker on the default pool for the session (settings point at the fakes)."""
    from cli.processes import start_worker
    from novel_events.settings import load_settings

    child = start_worker(
        initialized,
        load_settings().work_pool,
        session_home / "worker.log",
        limit=4,
        poll_seconds=1,
        env={"NOVEL_EVENTS_HOME": str(session_home)},
    )
    yield child
    child.stop()
