"""Burst benchmark: N users due in the same minute, one worker as shipped vs Prefect's stock process worker.

    .venv/bin/python benchmarks/burst_bench.py --users 100 --workers shipped,process
    .venv/bin/python benchmarks/burst_bench.py --users 1000 --workers shipped --offpeak 10

For every (N, worker) case, from scratch: a fresh PostgreSQL database for the Prefect server and one for the
novel-events store (local PostgreSQL, 127.0.0.1:5432, user postgres), a ``prefect server start`` on it
(cli/processes.py, as `novel-events up` starts one), ``init`` (pool of the worker's type), N users with iCal
sources (the sample personas) and ``sync`` (N deployments, their own schedules far from now), mail to the
outbox. Then N flow runs are created for the same minute (what the scheduler does ahead of time for users who
all chose that minute), the server is left to go quiet, and one worker is started the way ``start_worker``
starts it (shipped defaults: limit, poll interval; the limit is the one infra/Dockerfile ships for a PostgreSQL
server, 8, and ``start_worker``'s 4 for SQLite, see :func:`shipped_limit`). Measured from the slot until every
run is final:

- digests/s: N / (last run final - slot);
- delivery lateness p50/p95: the ledger's recorded time of each delivery - slot;
- CPU-s per digest, worker and server: user+system CPU time of each process group over the burst, exited
  children included (/proc: utime+stime+cutime+cstime), divided by N. PostgreSQL's own CPU is not included;
- failed/crashed: runs not Completed.

Off-peak: afterwards, ``--offpeak K`` single runs, one at a time, each scheduled a few seconds ahead on the idle
worker; start lateness = the run's start time - its scheduled time (p50/p95).

"shipped" is the ``novel-events`` worker type on a ``novel-events`` pool; "process" is Prefect's stock process
worker on a ``process`` pool with Prefect's default command. ``--backend sqlite`` runs server and store on SQLite
files instead (the embedded setup) and reports runs lost to ``database is locked``. Prints a Markdown table
(docs/burst-benchmark.md). Stop a run with Ctrl-C only between cases; a killed run may leave its
``burst_*`` databases (drop them) and its server/worker process groups behind.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import sqlalchemy as sa
from instrument import (  # benchmarks/ is on sys.path when run as a script
    PG_URL,
    describe,
    group_cpu_seconds,
    machine_busy_seconds,
    own_cpu_seconds,
    pct,
    postgres_database,
    wait_quiet,
)
from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterTags,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import DeploymentSort
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings
from prefect.states import Scheduled

from cli.processes import start_server, start_worker
from deployments.bootstrap import init
from deployments.sync import sync
from novel_events.models import User
from novel_events.samples import PEOPLE, build_ics
from novel_events.schedules import Schedule
from novel_events.settings import Settings
from novel_events.store import UserStore, make_engine

KINDS = {"shipped": "novel-events", "process": "process"}


@dataclass
class Result:
    worker: str
    n: int
    limit: int
    seconds: float
    completed: int
    failed: int
    lateness: list[float]
    start_lateness: list[float]
    cpu_worker: float
    cpu_server: float
    offpeak: list[float]
    states: dict[str, int]

    def row(self) -> str:
        rate = self.n / self.seconds if self.seconds else float("nan")
        return (
            f"| {self.worker} | {self.n} | {self.limit} | {rate:.2f} | {self.seconds:.0f} | "
            f"{pct(self.lateness, 50):.0f} / {pct(self.lateness, 95):.0f} | "
            f"{pct(self.start_lateness, 50):.0f} / {pct(self.start_lateness, 95):.0f} | "
            f"{self.cpu_worker / self.n:.2f} | {self.cpu_server / self.n:.2f} | "
            f"{(self.cpu_worker + self.cpu_server) / self.n:.2f} | {self.failed} | "
            f"{pct(self.offpeak, 50):.1f} / {pct(self.offpeak, 95):.1f} |"
        )


HEADER = (
    "| worker | users | limit | digests/s | last final after slot (s) | delivery lateness p50 / p95 (s) | "
    "start lateness p50 / p95 (s) | CPU-s/digest worker | CPU-s/digest server | CPU-s/digest total | "
    "failed/crashed | off-peak start lateness p50 / p95 (s) |\n|" + "---|" * 12
)


def seed(settings: Settings, n: int, ics_dir: Path) -> list[str]:
    """N users with iCal sources; their own schedules are 12 h away so the scheduler fires none of them."""
    files = []
    for i, person in enumerate(PEOPLE):
        path = ics_dir / f"person{i}.ics"
        path.write_bytes(build_ics(person, dt.date.today()))
        files.append(path)
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)).strftime("%H:%M")
    users = UserStore(make_engine(settings.store_url))
    ids = []
    for i in range(n):
        uid = f"burst-{i:05d}"
        users.add(
            User(
                id=uid,
                email=f"{uid}@example.org",
                schedule=Schedule.parse("daily", at, "UTC"),
                source=f"ics:{files[i % len(files)]}",
            )
        )
        ids.append(uid)
    return ids


async def deployment_ids(ids: list[str]) -> dict[str, UUID]:
    by_name: dict[str, UUID] = {}
    async with get_client() as client:
        while True:  # the API pages at 200
            page = await client.read_deployments(
                deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=["novel-events"])),
                limit=200,
                offset=len(by_name),
                sort=DeploymentSort.NAME_ASC,
            )
            by_name.update({d.name: d.id for d in page})
            if len(page) < 200:
                break
    return {uid: by_name[f"user-{uid}"] for uid in ids}


async def create_runs(deps: dict[str, UUID], at: dt.datetime) -> list[UUID]:
    sem = asyncio.Semaphore(8)
    async with get_client() as client:

        async def one(uid: str, dep: UUID) -> UUID:
            async with sem:
                run = await client.create_flow_run_from_deployment(
                    dep, parameters={"user_id": uid}, state=Scheduled(scheduled_time=at)
                )  # type: ignore[arg-type]
                return run.id

        return list(await asyncio.gather(*(one(u, d) for u, d in deps.items())))


async def read_runs(run_ids: list[UUID]) -> list:  # type: ignore[type-arg]
    out = []
    async with get_client() as client:
        for i in range(0, len(run_ids), 200):
            out += await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids[i : i + 200])), limit=200
            )
    return out


FINAL = [StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED]


async def count_runs(run_ids: list[UUID], types: list[StateType]) -> int:
    """How many of the runs are in one of ``types``: a COUNT on the server, not a read of every run."""
    async with get_client() as client:
        return await client.count_flow_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=run_ids), state=FlowRunFilterState(type=FlowRunFilterStateType(any_=types))
            )
        )


def wait_final(run_ids: list[UUID], timeout: float, label: str = "") -> tuple[list, float]:  # type: ignore[type-arg]
    """Wait until every run is final, then read them once.

    Polling counts (one cheap query every 2 s): reading every run's full state on each poll cost the server
    ~0.1 CPU-s per 200 runs per poll, which a 1,000-run burst would have counted as its own.
    """
    start = time.monotonic()
    deadline, report = start + timeout, start + 60
    while True:
        final = asyncio.run(count_runs(run_ids, FINAL))
        if final >= len(run_ids) or time.monotonic() > deadline:
            return asyncio.run(read_runs(run_ids)), time.time()
        if label and time.monotonic() > report:  # progress, so a long run can be read before it ends
            report += 60
            bad = asyncio.run(count_runs(run_ids, FINAL[1:]))
            print(
                f"  [{label}] {time.strftime('%H:%M:%S')} {final}/{len(run_ids)} final, {bad} not Completed",
                file=sys.stderr,
                flush=True,
            )
        time.sleep(2)


def delivery_times(settings: Settings, slot: str) -> dict[str, dt.datetime]:
    engine = make_engine(settings.store_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT user_id, updated_at FROM deliveries WHERE slot = :s"), {"s": slot})
        out = {}
        for user_id, at in rows:  # SQLite hands raw-SQL datetimes back as text
            when = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at))
            out[user_id] = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        return out


def server_work(server_url: str, since: dt.datetime, n: int) -> str:
    """Events (by name) and log lines the server stored per digest since the slot: the orchestration a digest costs."""
    time.sleep(5)  # events are persisted in batches
    engine = sa.create_engine(server_url.replace("+asyncpg", "+psycopg"), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT event, count(*) FROM events WHERE occurred >= :t GROUP BY event ORDER BY 2 DESC"),
                {"t": since},
            ).all()
            logs = conn.execute(sa.text("SELECT count(*) FROM log WHERE timestamp >= :t"), {"t": since}).scalar()
    finally:
        engine.dispose()
    total = sum(c for _, c in rows)
    parts = ", ".join(f"{name} {c / n:.1f}" for name, c in rows)
    return f"{total / n:.1f} events ({parts}); {int(logs or 0) / n:.1f} log lines"


def offpeak(deps: dict[str, UUID], k: int) -> list[float]:
    """K single runs on the idle worker, each scheduled 5 s ahead; start lateness of each."""
    late = []
    for uid in list(deps)[:k]:
        at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
        (rid,) = asyncio.run(create_runs({uid: deps[uid]}, at))
        (run,), _ = wait_final([rid], timeout=300)
        if run.start_time:
            late.append((run.start_time - run.expected_start_time).total_seconds())
    return late


def shipped_limit(*, postgres: bool) -> int:
    """The worker limit as shipped: on PostgreSQL, the ``--limit`` of the image's worker command
    (infra/Dockerfile, which the README's systemd unit and the Kubernetes template repeat); on SQLite, the
    default of ``start_worker`` (what ``novel-events up`` runs)."""
    if postgres:
        cmd = next(
            line
            for line in (Path(__file__).parents[1] / "infra" / "Dockerfile").read_text().splitlines()
            if line.startswith("CMD")
        )
        words = [w.strip(' "[],') for w in cmd.split(",")]
        return int(words[words.index("--limit") + 1])
    return int(start_worker.__kwdefaults__["limit"])


def bench(kind: str, n: int, args: argparse.Namespace) -> Result:
    tmp = Path(tempfile.mkdtemp(prefix=f"burst-{kind}-{n}-"))
    with ExitStack() as stack:
        stack.callback(lambda: None if args.keep else shutil.rmtree(tmp, ignore_errors=True))
        os.environ.update(
            {
                "NOVEL_EVENTS_HOME": str(tmp / "home"),
                "NOVEL_EVENTS_EMAIL_BACKEND": "outbox",
                "NOVEL_EVENTS_MAINTENANCE_EVERY_MINUTES": "0",
                "NOVEL_EVENTS_RECOVERY_EVERY_MINUTES": "0",
                "NOVEL_EVENTS_ICS_ROOT": str(tmp),  # the sample calendars are local files in tmp
            }
        )
        server_url = None
        if args.backend == "postgres":
            server_db = stack.enter_context(postgres_database("burst_server"))
            store_db = stack.enter_context(postgres_database("burst_store"))
            os.environ["NOVEL_EVENTS_DATABASE_URL"] = PG_URL.format(driver="psycopg", db=store_db)
            server_url = PG_URL.format(driver="asyncpg", db=server_db)
        else:  # the embedded setup: server and store on SQLite files, as `make up` runs them
            os.environ.pop("NOVEL_EVENTS_DATABASE_URL", None)
        settings = Settings()
        server, api = start_server(tmp / "prefect", database_url=server_url, timeout=600)
        stack.callback(server.stop)
        os.environ.update(server.client_env)  # the API wants its auth string (this script and the worker)
        stack.enter_context(temporary_settings(updates={PREFECT_API_URL: api, PREFECT_HOME: tmp / "client"}))
        pool_type = "novel-events" if KINDS[kind] == "novel-events" else "process"
        asyncio.run(init(settings, pool_type=pool_type))  # type: ignore[arg-type]
        ids = seed(settings, n, tmp)
        t = time.perf_counter()
        for _ in range(3):  # a loaded server may refuse some writes; sync reports them and a re-run applies them
            if not asyncio.run(sync(settings)).failed:
                break
        deps = asyncio.run(deployment_ids(ids))
        print(f"  [{kind} {n}] server + init + {n} users + sync: {time.perf_counter() - t:.0f} s", file=sys.stderr)
        slot_at = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2 + n // 300)).replace(second=0, microsecond=0)
        run_ids = asyncio.run(create_runs(deps, slot_at))

        def until_slot(margin: float) -> float:
            return max(1.0, (slot_at - dt.datetime.now(dt.UTC)).total_seconds() - margin)

        wait_quiet(server.proc.pid, timeout=until_slot(60))
        limit = args.limit or shipped_limit(postgres=server_url is not None)
        worker = start_worker(api, settings.work_pool, tmp / "worker.log", kind=KINDS[kind], limit=limit)
        stack.callback(worker.stop)
        wait_quiet(worker.proc.pid, timeout=until_slot(40))  # imports, forkserver preload, first poll
        # idle baseline: what server and worker burn with nothing due (services, polls, heartbeats)
        b0, bw0, bt = group_cpu_seconds(server.proc.pid), group_cpu_seconds(worker.proc.pid), time.monotonic()
        time.sleep(min(30.0, until_slot(10)))
        idle_s = (group_cpu_seconds(server.proc.pid) - b0) / max(1e-9, time.monotonic() - bt)
        idle_w = (group_cpu_seconds(worker.proc.pid) - bw0) / max(1e-9, time.monotonic() - bt)
        # (the worker may already prefetch runs a few seconds ahead; CPU is counted from here)
        w0, s0, t_cpu = group_cpu_seconds(worker.proc.pid), group_cpu_seconds(server.proc.pid), time.time()
        m0 = machine_busy_seconds()
        wait_s = (slot_at - dt.datetime.now(dt.UTC)).total_seconds()
        print(f"  [{kind} {n}] {n} runs due at {slot_at:%H:%M:%S} UTC (in {wait_s:.0f} s)", file=sys.stderr)
        runs, last = wait_final(run_ids, timeout=args.timeout + max(0.0, wait_s), label=f"{kind} {n}")
        w1, s1 = group_cpu_seconds(worker.proc.pid), group_cpu_seconds(server.proc.pid)
        m1 = machine_busy_seconds()
        own = own_cpu_seconds(worker.proc.pid)
        span = time.time() - t_cpu
        print(
            f"  [{kind} {n}] over {span:.0f} s: worker {w1 - w0:.1f} CPU-s (worker process itself, whole life: "
            f"{own:.1f}), server {s1 - s0:.1f} CPU-s; idle rates before the burst: server {idle_s:.3f}, "
            f"worker {idle_w:.3f} CPU-s/s (x span = server {idle_s * span:.1f}, worker {idle_w * span:.1f})",
            file=sys.stderr,
        )
        print(
            f"  [{kind} {n}] whole machine busy {m1 - m0:.1f} CPU-s = {(m1 - m0) / n:.2f} per digest "
            "(PostgreSQL and everything else included)",
            file=sys.stderr,
        )
        if server_url:
            print(f"  [{kind} {n}] server work per digest: {server_work(server_url, slot_at, n)}", file=sys.stderr)
        slot = slot_at.strftime("%Y-%m-%dT%H:%MZ")
        delivered = delivery_times(settings, slot)
        lateness = [(t - slot_at).total_seconds() for t in delivered.values()]
        start_late = [(r.start_time - slot_at).total_seconds() for r in runs if r.start_time]
        states: dict[str, int] = {}
        for r in runs:
            states[r.state_name or "?"] = states.get(r.state_name or "?", 0) + 1
        locked = sum(1 for r in runs if "database is locked" in ((r.state.message or "") if r.state else ""))
        log_locked = (tmp / "worker.log").read_text(errors="replace").count("database is locked")
        print(
            f"  [{kind} {n}] runs ending on 'database is locked': {locked}; "
            f"'database is locked' lines in the worker log: {log_locked}",
            file=sys.stderr,
        )
        completed = states.get("Completed", 0)
        failed = sum(1 for r in runs if r.state and r.state.is_final() and not r.state.is_completed())
        final_at = max((r.end_time.timestamp() for r in runs if r.end_time), default=last)
        late_off = offpeak(deps, args.offpeak) if args.offpeak else []
        return Result(
            worker=kind,
            n=n,
            limit=limit,
            seconds=final_at - slot_at.timestamp(),
            completed=completed,
            failed=failed,
            lateness=lateness,
            start_lateness=start_late,
            cpu_worker=w1 - w0,
            cpu_server=s1 - s0,
            offpeak=late_off,
            states=states,
        )
    raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", default="100", help="comma-separated N (e.g. 100,1000)")
    parser.add_argument("--workers", default="shipped,process", help="comma-separated: shipped, process")
    parser.add_argument("--limit", type=int, default=0, help="worker --limit (default: as shipped)")
    parser.add_argument("--offpeak", type=int, default=10, help="single off-peak runs after the burst (0: none)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the burst")
    parser.add_argument(
        "--backend",
        choices=("postgres", "sqlite"),
        default="postgres",
        help="server + store databases: local PostgreSQL (default) or SQLite files (embedded setup)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories (logs)")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.workers.split(",") if k.strip()]
    for k in kinds:
        if k not in KINDS:
            parser.error(f"--workers: {k!r} is not one of {', '.join(KINDS)}")
    import prefect

    print(f"machine: {describe(f'Prefect {prefect.__version__}', f'server + store on {args.backend}')}")
    print(HEADER)
    results = []
    for n in (int(x) for x in args.users.split(",")):
        for kind in kinds:
            r = bench(kind, n, args)
            results.append(r)
            print(r.row(), flush=True)
    for r in results:
        print(f"- {r.worker} {r.n}: states {r.states}")


if __name__ == "__main__":
    main()
