"""`novel-events sync` speed: users in the store -> per-user Prefect deployments, against a real server.

    .venv/bin/python benchmarks/sync_bench.py                                  # 100 and 1000 users, SQLite
    .venv/bin/python benchmarks/sync_bench.py --sizes 100 --backends sqlite,postgres

For every backend (the Prefect server's own database) and every N, a fresh ``prefect server start``
(cli/processes.py) and a fresh SQLite store in a temporary directory are used, so the cases are
independent. ``init`` (store schema, store block, work pool) runs once, then N users are added to the
store directly with UserStore, and ``deployments.sync.sync`` (what ``novel-events sync`` runs) is
timed in-process for three cases:

- first: every deployment is created (N user digests + the maintenance deployment);
- no-op: nothing changed, nothing is written;
- one change: one user's ``--at`` time changed, one deployment is updated.

Each case runs in its own ``asyncio.run`` with a new Prefect client, like one CLI invocation (the CLI's
interpreter start-up and imports are not included; they are printed once as "cold import").
Before each case the script waits until the server's process group is idle (the server's scheduler
creates flow runs for new deployments in the background); the "server busy after" column says how
long that took after the previous sync. Prefect client calls are wrapped to count them and time them
(writes run 4 at a time, so their summed time exceeds the wall time).

``--backends postgres`` runs the Prefect server on the local PostgreSQL (127.0.0.1:5432, user postgres,
trust auth): a fresh ``bench_<random>`` database is created through the ``test`` database and dropped
afterwards. The novel-events store stays on SQLite in both backends.
Prints one Markdown table per backend.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import logging
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

T0 = time.perf_counter()
import sqlalchemy as sa  # noqa: E402
from prefect.client.orchestration import PrefectClient  # noqa: E402
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings  # noqa: E402

from cli.processes import Child, start_server  # noqa: E402
from deployments.bootstrap import init  # noqa: E402
from deployments.sync import sync  # noqa: E402
from flows.schemas import flow_schemas  # noqa: E402
from novel_events.models import User  # noqa: E402
from novel_events.schedules import Schedule  # noqa: E402
from novel_events.settings import Settings  # noqa: E402
from novel_events.store import UserStore  # noqa: E402
from tasks import store  # noqa: E402
from tasks.reconcile import Report  # noqa: E402

IMPORT_S = time.perf_counter() - T0

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

# --------------------------------------------------------------------------- instrumentation

CALLS: dict[str, list[float]] = defaultdict(list)
READS = ("read_flows", "read_flow", "read_deployments")
WRITES = ("create_flow_from_name", "create_deployment", "pause_deployment", "resume_deployment",
          "delete_deployment")


def _timed_async(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            CALLS[name].append(time.perf_counter() - t)

    return wrapper


def _timed_sync(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            CALLS[name].append(time.perf_counter() - t)

    return wrapper


def instrument() -> None:
    """Count and time the Prefect client calls reconcile makes, and the store read (this process only)."""
    for name in (*READS, *WRITES):
        setattr(PrefectClient, name, _timed_async(name, getattr(PrefectClient, name)))
    UserStore.list = _timed_sync("store.list", UserStore.list)  # type: ignore[method-assign]


class WarningCounter(logging.Handler):
    """Client-side warnings/errors (e.g. Prefect client retries) while a case runs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()[:200]}")


# --------------------------------------------------------------------------- server CPU

def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in the process group (the server and children)."""
    ticks = 0
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        rest = stat.rsplit(")", 1)[1].split()
        if int(rest[2]) == pgid:  # field 5: pgrp
            ticks += int(rest[11]) + int(rest[12])  # fields 14, 15: utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_quiet(child: Child, *, below: float = 0.15, window: float = 2.0, calm: int = 3,
               timeout: float = 600.0) -> float:
    """Wait until the server uses < ``below`` cores for ``calm`` windows in a row; returns seconds waited."""
    start = time.monotonic()
    quiet = 0
    last = group_cpu_seconds(child.proc.pid)
    while time.monotonic() - start < timeout:
        time.sleep(window)
        now = group_cpu_seconds(child.proc.pid)
        quiet = quiet + 1 if (now - last) / window < below else 0
        last = now
        if quiet >= calm:
            return max(0.0, time.monotonic() - start - calm * window)
    return time.monotonic() - start


# --------------------------------------------------------------------------- data

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
    """Move CHANGED_USER's --at by 17 minutes (via UserStore.save, like `users set --at`)."""
    users = UserStore(store.store_engine(settings))
    u = users.get(CHANGED_USER)
    s = u.schedule
    minutes = (s.at.hour * 60 + s.at.minute + 17) % (24 * 60)
    at = f"{minutes // 60:02d}:{minutes % 60:02d}"
    assert users.save(u.with_changes(schedule=Schedule.parse(s.cadence.value, at, s.timezone, s.day)))
    return at


# --------------------------------------------------------------------------- cases

@dataclass
class Case:
    n: int
    case: str
    seconds: float
    report: Report
    calls: dict[str, list[float]]
    client_cpu: float
    server_cpu: float
    busy_after: float | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def written(self) -> int:
        return len(self.report.changes)

    def total(self, names: tuple[str, ...]) -> tuple[int, float]:
        values = [v for k in names for v in self.calls.get(k, [])]
        return len(values), sum(values)


def run_case(n: int, name: str, settings: Settings, server: Child, warn: WarningCounter) -> Case:
    CALLS.clear()
    warn.records.clear()
    cpu0, scpu0 = time.process_time(), group_cpu_seconds(server.proc.pid)
    t = time.perf_counter()
    report = asyncio.run(sync(settings))
    seconds = time.perf_counter() - t
    return Case(
        n=n, case=name, seconds=seconds, report=report, calls={k: list(v) for k, v in CALLS.items()},
        client_cpu=time.process_time() - cpu0, server_cpu=group_cpu_seconds(server.proc.pid) - scpu0,
        warnings=list(warn.records),
    )


def check(c: Case) -> list[str]:
    """What each case must report; a mismatch is a finding, printed under the table."""
    actions = [(ch.action, ch.name) for ch in c.report.changes]
    if c.case == "first" and (c.report.count("created") != c.n + 1 or c.written != c.n + 1):
        return [f"N={c.n} first sync: expected {c.n + 1} created, got {c.report.summary()}"]
    if c.case == "no-op" and actions:
        return [f"N={c.n} no-op sync wrote {len(actions)}: {c.report.summary()}; e.g. "
                + "; ".join(f"{ch.action} {ch.name} ({ch.detail})" for ch in c.report.changes[:3])]
    if c.case.startswith("one change") and actions != [("updated", f"novel-events-digest/user-{CHANGED_USER}")]:
        return [f"N={c.n} one-change sync: expected one update, got {c.report.summary()}"]
    return []


def server_problems(log: Path) -> list[str]:
    """Error-ish lines from the server log (first occurrence of each, up to 8)."""
    needles = ("error", "traceback", "exception", "locked", "timeout", "warning")
    seen: dict[str, int] = {}
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    for line in lines:
        low = line.lower()
        if any(k in low for k in needles):
            key = line.strip()[:220]
            seen[key] = seen.get(key, 0) + 1
    return [f"{count}x {line}" for line, count in list(seen.items())[:8]]


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


@dataclass
class SizeResult:
    n: int
    cases: list[Case]
    setup: dict[str, float]
    findings: list[str]
    server_log: list[str]


def bench_size(backend: str, n: int, repeat: int, warn: WarningCounter, keep: bool) -> SizeResult:
    tmp = Path(tempfile.mkdtemp(prefix=f"sync-bench-{backend}-{n}-"))
    setup: dict[str, float] = {}
    cases: list[Case] = []
    findings: list[str] = []
    problems: list[str] = []
    with ExitStack() as stack:
        db_url = stack.enter_context(postgres_database()) if backend == "postgres" else None
        t = time.perf_counter()
        server, api = start_server(tmp / "prefect", database_url=db_url, timeout=180)
        setup["server start s"] = time.perf_counter() - t
        try:
            settings = Settings(home=tmp / "home")
            os.environ["NOVEL_EVENTS_HOME"] = str(settings.home)  # for anything that calls load_settings()
            with temporary_settings(updates={PREFECT_API_URL: api, PREFECT_HOME: tmp / "client-prefect"}):
                t = time.perf_counter()
                asyncio.run(init(settings))
                setup["init s"] = time.perf_counter() - t
                setup["seed s"] = seed(settings, n)
                wait_quiet(server)

                plan = ["first", *(["no-op"] * repeat), *(["one change"] * repeat)]
                for i, name in enumerate(plan):
                    if name == "one change":
                        change_one(settings)
                    case = run_case(n, name, settings, server, warn)
                    case.busy_after = wait_quiet(server)
                    cases.append(case)
                    findings += check(case)
                    print(f"  [{backend} N={n}] {name} #{i}: {case.seconds:.2f}s, {short(case.report)}"
                          f" (server busy {case.busy_after:.0f}s after)", flush=True)
        finally:
            server.stop()
            problems = server_problems(server.log)
            if keep:
                print(f"  kept {tmp}", flush=True)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    return SizeResult(n=n, cases=cases, setup=setup, findings=findings, server_log=problems)


# --------------------------------------------------------------------------- output

def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    import prefect

    return (f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, Prefect {prefect.__version__}, "
            f"SQLAlchemy {sa.__version__}")


def merged(cases: list[Case]) -> list[tuple[str, list[Case]]]:
    """Group repeats of a case (median shown)."""
    out: dict[str, list[Case]] = {}
    for c in cases:
        out.setdefault(c.case, []).append(c)
    return list(out.items())


def short(report: Report) -> str:
    parts = [f"{report.count(a)} {a}" for a in ("created", "updated", "paused", "resumed", "deleted")
             if report.count(a)]
    return ", ".join([*parts, f"{report.unchanged} unchanged"] if report.unchanged or not parts else parts)


def table(backend: str, results: list[SizeResult]) -> None:
    print()
    print(f"### Prefect server on {backend}")
    print()
    print("| users | case | total s | ms/user | written | result | store read s | API reads n / s "
          "| upserts n | upsert ms median / max | client CPU s | server CPU s | server busy after s |")
    print("|------:|------|--------:|--------:|--------:|--------|-------------:|----------------:"
          "|----------:|-----------------------:|-------------:|-------------:|--------------------:|")
    for r in results:
        for name, group in merged(r.cases):
            c = sorted(group, key=lambda x: x.seconds)[len(group) // 2]  # median run
            secs = c.seconds
            label = name if len(group) == 1 else f"{name} (median of {len(group)})"
            reads_n, reads_s = c.total(READS)
            _, store_s = c.total(("store.list",))
            ups = c.calls.get("create_deployment", [])
            wstat = f"{1000 * statistics.median(ups):.0f} / {1000 * max(ups):.0f}" if ups else "–"
            print(f"| {r.n:,} | {label} | {secs:.2f} | {1000 * secs / r.n:.1f} | {c.written} "
                  f"| {short(c.report)} | {store_s:.2f} | {reads_n} / {reads_s:.2f} | {len(ups)} | {wstat} "
                  f"| {c.client_cpu:.1f} | {c.server_cpu:.1f} | {c.busy_after or 0:.0f} |")
    print()
    for r in results:
        setup = ", ".join(f"{k} {v:.1f}" for k, v in r.setup.items())
        first = next((c for c in r.cases if c.case == "first"), None)
        ups = first.calls.get("create_deployment", []) if first else []
        slow = sorted(ups, reverse=True)[:3]
        extra = f"; first sync's slowest upserts {', '.join(f'{v:.2f}s' for v in slow)}" if slow else ""
        print(f"- N={r.n:,} setup: {setup}{extra}")
    notes = [f for r in results for f in r.findings]
    warns = sorted({w for r in results for c in r.cases for w in c.warnings})
    logs = [f"N={r.n}: {line}" for r in results for line in r.server_log]
    for title, items in (("reconcile findings", notes), ("client warnings", warns), ("server log", logs)):
        if items:
            print(f"- {title}:")
            for item in items[:12]:
                print(f"  - {item}")
        else:
            print(f"- {title}: none")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--sizes", default="100,1000", help="comma-separated user counts")
    ap.add_argument("--backends", default="sqlite,postgres", help="sqlite and/or postgres (the Prefect server's DB)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of the no-op and one-change cases (median shown)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories (server logs, store)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for b in backends:
        if b not in {"sqlite", "postgres"}:
            ap.error(f"unknown backend {b!r}; use sqlite and/or postgres")

    warn = WarningCounter()
    logging.getLogger().addHandler(warn)
    instrument()
    t = time.perf_counter()
    flow_schemas()  # imports the flows once; the CLI pays this on every invocation
    schemas_s = time.perf_counter() - t

    print(f"machine: {machine()}")
    print(f"started {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; cold import of the sync path "
          f"{IMPORT_S:.1f}s + flow schemas {schemas_s:.1f}s (paid by each CLI invocation, not in the tables)")
    all_results: dict[str, list[SizeResult]] = {}
    for backend in backends:
        all_results[backend] = []
        for n in sizes:
            print(f"-- {backend}, {n} users", flush=True)
            all_results[backend].append(bench_size(backend, n, args.repeat, warn, args.keep))
    for backend, results in all_results.items():
        table(backend, results)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
