"""The sync benchmark's data and cases: N users, one timed sync, what each case must report."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import prefect.client.base as prefect_client_base
import sqlalchemy as sa
from instrument import CallLog, group_cpu_seconds
from prefect.client.orchestration import PrefectClient

from cli.processes import Child
from deployments.sync import sync
from novel_events.models import User
from novel_events.names import user_deployment_full_name
from novel_events.reconcile_plan import ACTIONS, Report
from novel_events.schedules import Schedule
from novel_events.settings import Settings
from novel_events.store import UserStore
from tasks import store

ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/London",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Africa/Johannesburg",
    "Pacific/Auckland",
)
CADENCES = ("daily", "weekdays", "weekends", "weekly")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{db}"
CHANGED_USER = "bench-0001"

READS = ("read_flows", "read_flow", "read_deployments")
WRITES = ("create_flow_from_name", "create_deployment", "pause_deployment", "resume_deployment", "delete_deployment")
LOG = CallLog()  # the Prefect client calls reconcile makes and the store read
RETRIES: list[str] = []  # one entry per retryable response the client backed off from: its status


def instrument() -> None:
    """Count and time the Prefect client calls reconcile makes, the store read, and client retries."""
    LOG.instrument(PrefectClient, *READS, *WRITES)
    LOG.instrument(UserStore, "list", prefix="store.")

    # Called by the client's send loop before every back-off sleep (prefect/client/base.py, private:
    # without it, retries are simply not counted).
    original = getattr(prefect_client_base, "_record_if_maintenance_backoff", None)
    if original is None:
        return

    def record(response: Any, exc_info: Any, retry_seconds: float) -> None:
        RETRIES.append(str(response.status_code) if response is not None and not exc_info else "conn-error")
        original(response, exc_info, retry_seconds)

    prefect_client_base._record_if_maintenance_backoff = record


class WarningCounter(logging.Handler):
    """Client-side warnings and errors logged while a case runs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()[:200]}")


def bench_user(i: int) -> User:
    cadence = CADENCES[i % len(CADENCES)]
    day = DAYS[(i // len(CADENCES)) % 7] if cadence == "weekly" else None
    at = f"{5 + i % 5:02d}:{(i * 7) % 60:02d}"
    uid = f"bench-{i:04d}"
    return User(
        id=uid,
        email=f"{uid}@example.org",
        schedule=Schedule.parse(cadence, at, ZONES[i % len(ZONES)], day),
        source="google",
    )


def seed(settings: Settings, n: int) -> float:
    users = UserStore(store.store_engine(settings))
    t = time.perf_counter()
    for i in range(1, n + 1):
        users.add(bench_user(i))
    return time.perf_counter() - t


def change_one(settings: Settings) -> str:
    """Move CHANGED_USER's --at by 17 minutes via UserStore.save (what `users set --at` does)."""
    users = UserStore(store.store_engine(settings))
    u = users.get(CHANGED_USER)
    s = u.schedule
    minutes = (s.at.hour * 60 + s.at.minute + 17) % (24 * 60)
    at = f"{minutes // 60:02d}:{minutes % 60:02d}"
    assert users.save(u.with_changes(schedule=Schedule.parse(s.cadence.value, at, s.timezone, s.day)))
    return at


@dataclass
class Case:
    n: int
    case: str
    attempt: int
    seconds: float
    report: Report | None
    calls: dict[str, list[float]]
    failed_calls: dict[str, int]
    retries: list[str]
    client_cpu: float
    server_cpu: float
    error: str | None = None
    pending_after: int | None = None  # writes a dry run still wants after a failed attempt
    busy_after: float | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.case if self.attempt == 1 else f"{self.case}, attempt {self.attempt}"

    @property
    def written(self) -> int:
        if self.report is not None:
            return len(self.report.changes)
        return sum(len(self.calls.get(k, [])) for k in WRITES if k != "create_flow_from_name")

    def total(self, names: tuple[str, ...]) -> tuple[int, float]:
        values = [v for k in names for v in self.calls.get(k, [])]
        return len(values), sum(values)


def short(report: Report) -> str:
    parts = [f"{report.count(a)} {a}" for a in ACTIONS if report.count(a)]
    return ", ".join([*parts, f"{report.unchanged} unchanged"] if report.unchanged or not parts else parts)


def outcome(c: Case) -> str:
    if c.report is not None:
        return short(c.report)
    return f"FAILED ({c.error}); {c.written} written, {c.pending_after} still pending"


def describe_error(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    request = getattr(exc, "request", None)
    if response is not None and request is not None:
        return f"{type(exc).__name__}: HTTP {response.status_code} on {request.method} {request.url.path}"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"


def run_case(n: int, name: str, attempt: int, settings: Settings, server: Child, warn: WarningCounter) -> Case:
    LOG.clear()
    RETRIES.clear()
    warn.records.clear()
    cpu0, scpu0 = time.process_time(), group_cpu_seconds(server.proc.pid)
    t = time.perf_counter()
    report: Report | None = None
    error: str | None = None
    try:
        report = asyncio.run(sync(settings))
    except Exception as exc:
        error = describe_error(exc)
    seconds = time.perf_counter() - t
    case = Case(
        n=n,
        case=name,
        attempt=attempt,
        seconds=seconds,
        report=report,
        calls={k: list(v) for k, v in LOG.calls.items()},
        failed_calls=dict(LOG.failed),
        retries=list(RETRIES),
        client_cpu=time.process_time() - cpu0,
        server_cpu=group_cpu_seconds(server.proc.pid) - scpu0,
        error=error,
        warnings=list(warn.records),
    )
    if error is not None:
        try:
            case.pending_after = len(asyncio.run(sync(settings, dry_run=True)).changes)
        except Exception as exc:  # the dry run is diagnostics only
            case.warnings.append(f"dry run after failure: {type(exc).__name__}: {exc}")
    return case


def check(c: Case) -> list[str]:
    """What each case must report; a mismatch is a finding, printed under the table."""
    if c.report is None:
        retries = f"; client retries: {', '.join(sorted(set(c.retries)))} x{len(c.retries)}" if c.retries else ""
        return [f"N={c.n} {c.label}: {outcome(c)} after {c.seconds:.1f}s{retries}"]
    actions = [(ch.action, ch.name) for ch in c.report.changes]
    if c.case == "first" and c.attempt == 1 and c.report.count("created") != c.n + 1:
        return [f"N={c.n} first sync: expected {c.n + 1} created, got {c.report.summary()}"]
    if c.case == "no-op" and actions:
        return [
            f"N={c.n} no-op sync wrote {len(actions)}: {c.report.summary()}; e.g. "
            + "; ".join(f"{ch.action} {ch.name} ({ch.detail})" for ch in c.report.changes[:3])
        ]
    if c.case == "one change" and actions != [("updated", user_deployment_full_name(CHANGED_USER))]:
        return [f"N={c.n} one-change sync: expected one update, got {c.report.summary()}"]
    return []


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database for the Prefect server; dropped afterwards."""
    name = f"bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_SERVER_URL.format(db=name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_unavailable() -> str | None:
    """None when the local PostgreSQL answers, else why not."""
    engine = sa.create_engine(PG_ADMIN_URL, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return None
    except Exception as exc:
        return f"{PG_ADMIN_URL} not reachable ({type(exc).__name__})"
    finally:
        engine.dispose()
