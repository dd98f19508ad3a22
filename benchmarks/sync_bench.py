"""`novel-events sync` speed: users in the store -> per-user Prefect deployments, against a real server.

    .venv/bin/python benchmarks/sync_bench.py                       # 100 and 1000 users, SQLite (+ PostgreSQL)
    .venv/bin/python benchmarks/sync_bench.py --repeat 3 --logs /tmp/sync-bench-logs   # as in docs/sync-benchmark.md
    .venv/bin/python benchmarks/sync_bench.py --sizes 100 --backends sqlite

Modules: sync_cases.py (data, one timed case, expectations), sync_report.py (tables), instrument.py
(timers, CPU of the server's process group, call counters, the machine line).

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

import argparse
import asyncio
import datetime as dt
import logging
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import prefect
import sqlalchemy as sa
from instrument import cold_import_seconds, describe, wait_quiet
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, PREFECT_HOME, temporary_settings
from sync_cases import (
    Case,
    WarningCounter,
    change_one,
    check,
    instrument,
    outcome,
    postgres_database,
    postgres_unavailable,
    run_case,
    seed,
)
from sync_report import SizeResult, server_problems, table

import tasks.reconcile
from cli.processes import start_server
from deployments.bootstrap import init
from flows.schemas import flow_schemas
from novel_events.settings import Settings


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
            with temporary_settings(
                updates={
                    PREFECT_API_URL: api,
                    PREFECT_HOME: tmp / "client-prefect",
                    PREFECT_API_AUTH_STRING: server.client_env["PREFECT_API_AUTH_STRING"],
                }
            ):
                t = time.perf_counter()
                asyncio.run(init(settings))
                setup["init s"] = time.perf_counter() - t
                setup["seed s"] = seed(settings, n)
                wait_quiet(server.proc.pid)

                for name in ["first", *(["no-op"] * args.repeat), *(["one change"] * args.repeat)]:
                    if name == "one change":
                        change_one(settings)
                    for attempt in range(1, args.attempts + 1):
                        case = run_case(n, name, attempt, settings, server, warn)
                        case.busy_after = wait_quiet(server.proc.pid)
                        cases.append(case)
                        findings += check(case)
                        retries = f", {len(case.retries)} client retries" if case.retries else ""
                        print(
                            f"  [{backend} N={n}] {case.label}: {case.seconds:.2f}s, {outcome(case)}{retries}"
                            f" (server busy {case.busy_after:.0f}s after)",
                            flush=True,
                        )
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


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--sizes", default="100,1000", help="comma-separated user counts")
    ap.add_argument(
        "--backends",
        help="sqlite and/or postgres, the Prefect server's database "
        "(default: sqlite, plus postgres when the local PostgreSQL answers)",
    )
    ap.add_argument("--repeat", type=int, default=1, help="runs of the no-op and one-change cases (median shown)")
    ap.add_argument("--attempts", type=int, default=3, help="attempts per case when a sync raises")
    ap.add_argument("--no-scheduler", action="store_true", help="turn the server's scheduler service off")
    ap.add_argument(
        "--parallel-writes", type=int, help="override tasks.reconcile.PARALLEL_WRITES in this process (diagnostic)"
    )
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
    import_s = cold_import_seconds("deployments.sync")  # what each CLI invocation pays before syncing
    t = time.perf_counter()
    flow_schemas()  # imports the flows once; the CLI pays this on every invocation
    schemas_s = time.perf_counter() - t

    print(f"machine: {describe(f'Prefect {prefect.__version__}', f'SQLAlchemy {sa.__version__}')}")
    print(
        f"started {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; cold import of the sync path "
        f"{import_s:.1f}s + flow schemas {schemas_s:.1f}s (paid by each CLI invocation, not in the tables)"
    )
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
