"""`novel-events sync` speed: users in the store -> per-user Prefect deployments, against a real server.

    .venv/bin/python benchmarks/sync_bench.py                       # 100 and 1000 users, SQLite (+ PostgreSQL)
    .venv/bin/python benchmarks/sync_bench.py --repeat 3 --logs /tmp/sync-bench-logs   # as in docs/sync-benchmark.md
    .venv/bin/python benchmarks/sync_bench.py --sizes 100 --backends sqlite

Takes ~10 minutes with the defaults on 2 cores (most of it the 1000-user first syncs).

For every backend (the Prefect server's own database) and every N, a fresh ``prefect server start``
(cli/processes.py) and a fresh SQLite store in a temporary directory are used, so the cases are
independent. ``init`` (store schema, store block, work pool) runs once, then N users are added to the
store directly with UserStore, and ``deployments.sync.sync`` (what ``novel-events sync`` runs) is
timed in-process for three cases:

- first: every deployment is created (N user digests + the maintenance deployment);
- no-op: nothing changed, nothing is written;
- one change: one user's ``--at`` time changed (UserStore.save), one deployment is updated.

Each case runs in its own ``asyncio.run`` with a new Prefect client, like one CLI invocation (the CLI's
interpreter start-up and imports are not included; they are printed once as "cold import").
Before each case the script waits until the server's process group is idle again (after new or
changed deployments the server's scheduler creates flow runs in the background); "server busy after"
is how long that took after the sync returned. Prefect client calls are wrapped to count and time them
(reconcile writes 4 at a time, so upsert latencies add up to more than the wall time), and the Prefect
client's automatic retries (429/502/503, exponential back-off) are counted.

A sync that raises is recorded as a failed attempt (how many upserts had succeeded, how many writes
were still pending according to a dry run) and run again, up to ``--attempts`` times, like the
maintenance flow's task retries or an operator re-running the command would.

The servers are started with ``PREFECT_SERVER_LOG_RETRYABLE_ERRORS=true`` so the errors behind 503s are
in their logs (lines are summarised under each table; ``--logs DIR`` keeps the full logs).
``--no-scheduler`` turns the server's scheduler service off and ``--parallel-writes K`` overrides
``tasks.reconcile.PARALLEL_WRITES`` in this process (diagnostics: sync cost without the background
run creation, or with fewer concurrent writers, competing for the server's database).

``postgres`` runs the Prefect server on the local PostgreSQL (127.0.0.1:5432, user postgres, trust auth):
a fresh ``bench_<random>`` database is created through the ``test`` database and dropped afterwards.
By default it is included when that PostgreSQL answers and skipped (with a note) when not. The
novel-events store stays on SQLite in both backends. Prints one Markdown table per backend.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import functools  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import ExitStack, contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import prefect  # noqa: E402
import prefect.client.base as prefect_client_base  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from machine import describe  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from prefect.client.orchestration import PrefectClient  # noqa: E402
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, PREFECT_HOME, temporary_settings  # noqa: E402

import tasks.reconcile  # noqa: E402
from cli.processes import Child, start_server  # noqa: E402
from deployments.bootstrap import init  # noqa: E402
from deployments.sync import sync  # noqa: E402
from flows.schemas import flow_schemas  # noqa: E402
from novel_events.jobs import DIGEST_FLOW  # noqa: E402
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

CALLS: dict[str, list[float]] = defaultdict(list)  # name -> durations of successful calls
FAILED: dict[str, int] = defaultdict(int)  # name -> calls that raised (incl. cancelled)
RETRIES: list[str] = []  # one entry per retryable response the client backed off from: its status
READS = ("read_flows", "read_flow", "read_deployments")
WRITES = ("create_flow_from_name", "create_deployment", "pause_deployment", "resume_deployment",
          "delete_deployment")


def _timed_async(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            result = await fn(*args, **kwargs)
        except BaseException:
            FAILED[name] += 1
            raise
        CALLS[name].append(time.perf_counter() - t)
        return result

    return wrapper


def _timed_sync(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        result = fn(*args, **kwargs)
        CALLS[name].append(time.perf_counter() - t)
        return result

    return wrapper


def instrument() -> None:
    """Count and time the Prefect client calls reconcile makes, the store read, and client retries."""
    for name in (*READS, *WRITES):
        setattr(PrefectClient, name, _timed_async(name, getattr(PrefectClient, name)))
    UserStore.list = _timed_sync("store.list", UserStore.list)  # type: ignore[method-assign]

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
               timeout: float = 900.0) -> float:
    """Wait until the server uses < ``below`` cores for ``calm`` windows in a row; returns seconds busy."""
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
    """Move CHANGED_USER's --at by 17 minutes via UserStore.save (what `users set --at` does)."""
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
    parts = [f"{report.count(a)} {a}" for a in ("created", "updated", "paused", "resumed", "deleted")
             if report.count(a)]
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
    CALLS.clear()
    FAILED.clear()
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
        n=n, case=name, attempt=attempt, seconds=seconds, report=report,
        calls={k: list(v) for k, v in CALLS.items()}, failed_calls=dict(FAILED), retries=list(RETRIES),
        client_cpu=time.process_time() - cpu0, server_cpu=group_cpu_seconds(server.proc.pid) - scpu0,
        error=error, warnings=list(warn.records),
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
        return [f"N={c.n} no-op sync wrote {len(actions)}: {c.report.summary()}; e.g. "
                + "; ".join(f"{ch.action} {ch.name} ({ch.detail})" for ch in c.report.changes[:3])]
    if c.case == "one change" and actions != [("updated", f"{DIGEST_FLOW}/user-{CHANGED_USER}")]:
        return [f"N={c.n} one-change sync: expected one update, got {c.report.summary()}"]
    return []


LOG_LEVEL_LINE = re.compile(r"^\S+ \| (ERROR|WARNING|CRITICAL)\s*\| (.*)$")
EXC_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Za-z_]\w*(?:Error|Exception|Timeout)\b")


def server_problems(log: Path) -> list[str]:
    """Warnings/errors in the server log: log headlines, exception lines and failing SQL, with counts."""
    seen: dict[str, int] = {}
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    for raw in lines:
        line = raw.strip()
        m = LOG_LEVEL_LINE.match(line)
        if m:
            key = f"{m.group(1)} {m.group(2)[:150]}"
        elif EXC_LINE.match(line):
            key = line[:150]
        elif line.startswith("[SQL: "):
            key = line[:60] + " …]"
        else:
            continue
        seen[key] = seen.get(key, 0) + 1
    return [f"{count}x {line}" for line, count in sorted(seen.items(), key=lambda kv: -kv[1])[:10]]


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


@dataclass
class SizeResult:
    n: int
    cases: list[Case]
    setup: dict[str, float]
    findings: list[str]
    server_log: list[str]


def bench_size(backend: str, n: int, args: argparse.Namespace, warn: WarningCounter) -> SizeResult:
    tmp = Path(tempfile.mkdtemp(prefix=f"sync-bench-{backend}-{n}-"))
    setup: dict[str, float] = {}
    cases: list[Case] = []
    findings: list[str] = []
    problems: list[str] = []
    with ExitStack() as stack:
        stack.callback(lambda: None if args.keep else shutil.rmtree(tmp, ignore_errors=True))
        db_url = stack.enter_context(postgres_database()) if backend == "postgres" else None
        t = time.perf_counter()
        server, api = start_server(tmp / "prefect", database_url=db_url, timeout=180)
        setup["server start s"] = time.perf_counter() - t
        try:
            settings = Settings(home=tmp / "home")
            os.environ["NOVEL_EVENTS_HOME"] = str(settings.home)  # for anything that calls load_settings()
            with temporary_settings(updates={PREFECT_API_URL: api, PREFECT_HOME: tmp / "client-prefect",
                                             PREFECT_API_AUTH_STRING: server.client_env["PREFECT_API_AUTH_STRING"]}):
                t = time.perf_counter()
                asyncio.run(init(settings))
                setup["init s"] = time.perf_counter() - t
                setup["seed s"] = seed(settings, n)
                wait_quiet(server)

                for name in ["first", *(["no-op"] * args.repeat), *(["one change"] * args.repeat)]:
                    if name == "one change":
                        change_one(settings)
                    for attempt in range(1, args.attempts + 1):
                        case = run_case(n, name, attempt, settings, server, warn)
                        case.busy_after = wait_quiet(server)
                        cases.append(case)
                        findings += check(case)
                        retries = f", {len(case.retries)} client retries" if case.retries else ""
                        print(f"  [{backend} N={n}] {case.label}: {case.seconds:.2f}s, {outcome(case)}{retries}"
                              f" (server busy {case.busy_after:.0f}s after)", flush=True)
                        if case.report is not None:
                            break
        finally:
            server.stop()
            problems = server_problems(server.log)
            if args.logs:
                tag = f"-pw{tasks.reconcile.PARALLEL_WRITES}{'-nosched' if args.no_scheduler else ''}"
                dest = Path(args.logs) / f"server-{backend}-{n}{tag}.log"
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(server.log, dest)
                print(f"  server log copied to {dest}", flush=True)
            if args.keep:
                print(f"  kept {tmp}", flush=True)
    return SizeResult(n=n, cases=cases, setup=setup, findings=findings, server_log=problems)


# --------------------------------------------------------------------------- output

def table(backend: str, results: list[SizeResult], variant: str) -> None:
    print()
    print(f"### Prefect server on {backend}{variant}")
    print()
    print("| users | case | total s | ms/user | written | result | store read s | API reads n / s "
          "| upserts n | upsert ms median / max | client retries | client CPU s | server CPU s "
          "| server busy after s |")
    print("|------:|------|--------:|--------:|--------:|--------|-------------:|----------------:"
          "|----------:|-----------------------:|---------------:|-------------:|-------------:"
          "|--------------------:|")
    for r in results:
        groups: dict[str, list[Case]] = {}
        for c in r.cases:
            groups.setdefault(c.label, []).append(c)
        for label, group in groups.items():
            c = sorted(group, key=lambda x: x.seconds)[len(group) // 2]  # the median run
            shown = label if len(group) == 1 else f"{label} (median of {len(group)})"
            reads_n, reads_s = c.total(READS)
            _, store_s = c.total(("store.list",))
            ups = c.calls.get("create_deployment", [])
            wstat = f"{1000 * statistics.median(ups):.0f} / {1000 * max(ups):.0f}" if ups else "–"
            print(f"| {r.n:,} | {shown} | {c.seconds:.2f} | {1000 * c.seconds / r.n:.1f} | {c.written} "
                  f"| {outcome(c)} | {store_s:.2f} | {reads_n} / {reads_s:.2f} | {len(ups)} | {wstat} "
                  f"| {len(c.retries)} | {c.client_cpu:.1f} | {c.server_cpu:.1f} | {c.busy_after or 0:.0f} |")
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
    for title, items in (("findings", notes), ("client warnings", warns), ("server log", logs)):
        if items:
            print(f"- {title}:")
            for item in items[:20]:
                print(f"  - {item}")
        else:
            print(f"- {title}: none")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--sizes", default="100,1000", help="comma-separated user counts")
    ap.add_argument("--backends", help="sqlite and/or postgres, the Prefect server's database "
                    "(default: sqlite, plus postgres when the local PostgreSQL answers)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of the no-op and one-change cases (median shown)")
    ap.add_argument("--attempts", type=int, default=3, help="attempts per case when a sync raises")
    ap.add_argument("--no-scheduler", action="store_true", help="turn the server's scheduler service off")
    ap.add_argument("--parallel-writes", type=int,
                    help="override tasks.reconcile.PARALLEL_WRITES in this process (diagnostic)")
    ap.add_argument("--logs", help="copy each server's log into this directory")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories (server logs, store)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    backends = [b.strip() for b in (args.backends or "sqlite,postgres").split(",") if b.strip()]
    for b in backends:
        if b not in {"sqlite", "postgres"}:
            ap.error(f"unknown backend {b!r}; use sqlite and/or postgres")
    if "postgres" in backends and (why := postgres_unavailable()):
        if args.backends:
            ap.error(f"postgres: {why}")
        print(f"postgres skipped: {why}")
        backends.remove("postgres")

    # Read by the server children only (start_server copies os.environ); this process's Prefect
    # settings were loaded at import and are not affected.
    os.environ["PREFECT_SERVER_LOG_RETRYABLE_ERRORS"] = "true"
    if args.no_scheduler:
        os.environ["PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED"] = "false"

    if args.parallel_writes:
        tasks.reconcile.PARALLEL_WRITES = args.parallel_writes

    warn = WarningCounter()
    logging.getLogger().addHandler(warn)
    logging.getLogger("prefect").addHandler(warn)
    instrument()
    t = time.perf_counter()
    flow_schemas()  # imports the flows once; the CLI pays this on every invocation
    schemas_s = time.perf_counter() - t

    print(f"machine: {describe(f'Prefect {prefect.__version__}', f'SQLAlchemy {sa.__version__}')}")
    print(f"started {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; cold import of the sync path "
          f"{IMPORT_S:.1f}s + flow schemas {schemas_s:.1f}s (paid by each CLI invocation, not in the tables)")
    variants = [f"PARALLEL_WRITES={tasks.reconcile.PARALLEL_WRITES}"]
    if args.no_scheduler:
        variants.append("scheduler service off")
    variant = f" ({', '.join(variants)})"
    all_results: dict[str, list[SizeResult]] = {}
    for backend in backends:
        all_results[backend] = []
        for n in sizes:
            print(f"-- {backend}, {n} users", flush=True)
            all_results[backend].append(bench_size(backend, n, args, warn))
    for backend, results in all_results.items():
        table(backend, results, variant)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
