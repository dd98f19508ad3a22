"""One scenario's world: its own Prefect server, store (a fresh PostgreSQL database), users due in the same
minute, work pool + worker(s), SMTP relay, feed server and, where asked, TCP proxies to cut.

Runs inside the scenario's own process (``python -m tests.faults.scenarios``): the process environment
*is* the scenario's settings, so `novel-events init/users add/sync` run in-process exactly as an operator
would run them, and the maintenance deployment `novel-events-reconcile/maintenance` (every minute) runs
on the scenario's worker as in production.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from cryptography.fernet import Fernet

from cli.processes import Child, free_port, start_server, start_worker
from tests.faults import knobs
from tests.faults.feed import FeedServer
from tests.faults.proxy import TcpProxy
from tests.faults.relay import FaultRelay

ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "UTC",
    "Australia/Sydney",
    "America/Santiago",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "Europe/Lisbon",
    "America/Denver",
)


def until(what: str, check: Callable[[], object], timeout: float, every: float = 1.0) -> bool:
    """Poll ``check`` until truthy; False (and a log line) on timeout: scenarios go on and report."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            log(f"timed out after {timeout:.0f}s waiting for {what}")
            return False
        time.sleep(every)
    return True


def log(line: str) -> None:
    print(f"{dt.datetime.now(dt.UTC):%H:%M:%S} {line}", flush=True)


def reap(workdir: Path) -> int:
    """SIGKILL every process left from a scenario: its server, workers and runs all carry a PREFECT_HOME
    inside the scenario's folder (the last resort after an interrupted start or a timeout)."""
    needle = f"PREFECT_HOME={workdir}/".encode()
    killed = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        try:
            if any(v.startswith(needle) for v in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")):
                os.kill(int(pid), signal.SIGKILL)
                killed += 1
        except (OSError, ProcessLookupError):
            continue
    return killed


def _kill_run_processes(runs: list[dict[str, Any]]) -> int:
    """SIGKILL the processes executing these flow runs; returns how many were killed.

    A run's process is found by the pid its worker recorded on the flow run (``infrastructure_pid``): a run
    forked from the warm worker's forkserver keeps the forkserver's exec-time environment, so the
    ``PREFECT__FLOW_RUN_ID`` it runs with is not in ``/proc/PID/environ``. Runs of Prefect's stock process
    worker are also found by that variable.
    """
    needles = {f"PREFECT__FLOW_RUN_ID={r['id']}".encode() for r in runs}
    pids = {pid for r in runs if (pid := _pid_of(r.get("pid")))}
    killed = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = set(Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"))
            ours = int(pid) in pids and b"python" in Path(f"/proc/{pid}/cmdline").read_bytes()
            if ours or env & needles:
                os.kill(int(pid), signal.SIGKILL)
                killed += 1
        except (OSError, ProcessLookupError):
            continue
    return killed


def _pid_of(infrastructure_pid: str | None) -> int | None:
    """``"1234"`` or ``"host:1234"`` -> 1234."""
    tail = (infrastructure_pid or "").rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


class Stack:
    def __init__(
        self, name: str, workdir: Path, *, users: int = knobs.USERS, store_proxy: bool = False, api_proxy: bool = False
    ) -> None:
        self.name = name
        self.workdir = workdir
        self.n_users = users
        self.want_store_proxy = store_proxy
        self.want_api_proxy = api_proxy
        self.relay = FaultRelay()
        self.feed = FeedServer()
        self.db = f"faults_{name.replace('-', '_')}_{uuid.uuid4().hex[:6]}"
        self.store_key = Fernet.generate_key().decode()
        self.server: Child | None = None
        self.server_port = free_port()
        self.api = f"http://127.0.0.1:{self.server_port}/api"
        self.store_proxy: TcpProxy | None = None
        self.api_proxy: TcpProxy | None = None
        self.workers: list[Child] = []
        self.users: list[str] = []
        self.emails: dict[str, str] = {}  # email -> user id
        self.slot_at = dt.datetime.now(dt.UTC)

    # -- lifecycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        for w in self.workers:
            w.stop(grace=5)
        if self.server is not None:
            self.server.stop(grace=5)
        for part in (self.store_proxy, self.api_proxy, self.relay, self.feed):
            if part is not None:
                try:
                    part.stop()
                except Exception as err:
                    log(f"stopping {type(part).__name__}: {err}")
        if left := reap(self.workdir):
            log(f"killed {left} leftover process(es)")
        self._drop_db()

    def setup(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.relay.start()
        self.feed.start()
        with psycopg.connect(knobs.PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db}"')
            conn.execute(f'CREATE DATABASE "{self.db}_prefect"')
        if self.want_store_proxy:
            self.store_proxy = TcpProxy("127.0.0.1", 5432).start()
        self.start_server()
        if self.want_api_proxy:
            self.api_proxy = TcpProxy("127.0.0.1", self.server_port).start()
        os.environ.update(self.product_env(direct=True))
        os.environ["PREFECT_API_URL"] = self.api
        from cli.app import main

        assert main(["init"]) == 0, "novel-events init failed"
        now = dt.datetime.now(dt.UTC)
        self.slot_at = (now + dt.timedelta(seconds=knobs.LEAD_SECONDS + 59)).replace(second=0, microsecond=0)
        from novel_events.samples import PEOPLE, build_ics

        for i in range(self.n_users):
            uid = f"{self.name[:20]}-{i:02d}"
            zone = ZONES[i % len(ZONES)]
            local = self.slot_at.astimezone(ZoneInfo(zone))
            self.feed.put(uid, build_ics(PEOPLE[i % len(PEOPLE)], local.date()))
            email = f"{uid}@example.org"
            assert (
                main(
                    [
                        "users",
                        "add",
                        uid,
                        "--email",
                        email,
                        "--timezone",
                        zone,
                        "--schedule",
                        "daily",
                        "--at",
                        f"{local:%H:%M}",
                        "--source",
                        f"ics:{self.feed.url(uid)}",
                        "--send-when-empty",
                    ]
                )
                == 0
            ), f"users add {uid} failed"
            self.users.append(uid)
            self.emails[email] = uid
        assert main(["sync"]) == 0, "novel-events sync failed"
        log(f"{self.n_users} users due at {self.slot_at:%H:%M}Z; server {self.api}")

    def _drop_db(self) -> None:
        try:
            with psycopg.connect(knobs.PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db}_prefect" WITH (FORCE)')
        except psycopg.Error as err:
            log(f"dropping {self.db}: {err}")

    # -- parts -------------------------------------------------------------------------------------------

    def store_url(self, *, direct: bool) -> str:
        port = 5432 if direct or self.store_proxy is None else self.store_proxy.port
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{self.db}"

    def product_env(self, *, direct: bool) -> dict[str, str]:
        """The product's settings for this scenario (the driver uses the direct store, workers maybe not)."""
        return {
            "NOVEL_EVENTS_HOME": str(self.workdir / "home"),
            "NOVEL_EVENTS_DATABASE_URL": self.store_url(direct=direct),
            "NOVEL_EVENTS_EMAIL_BACKEND": "smtp",
            "NOVEL_EVENTS_SMTP_URL": f"smtp://127.0.0.1:{self.relay.port}",
            "NOVEL_EVENTS_ICS_ALLOW_PRIVATE": self.feed.hostport,
            "NOVEL_EVENTS_STORE_KEY": self.store_key,  # seals private feed URLs in the shared store
            **knobs.RECOVERY_ENV,
            **knobs.WORKER_ENV,
        }

    def start_server(self) -> None:
        # the Prefect server on PostgreSQL, as a fleet runs it (SQLite answers a burst with 503s at submit)
        self.server, api = start_server(
            self.workdir / "prefect",
            port=self.server_port,
            extra_env=knobs.SERVER_ENV,
            timeout=knobs.WAIT_SECONDS,
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.db}_prefect",
            secrets_dir=self.workdir / "prefect-secrets",
        )
        assert api == self.api
        os.environ.update(self.server.client_env)  # the API wants its auth string (driver and workers)

    def stop_server(self) -> None:
        assert self.server is not None
        self.server.stop(grace=10)

    def start_worker(self) -> Child:
        """Every worker of the suite starts here (the one place that knows start_worker's signature)."""
        n = len(self.workers) + 1
        api = self.api if self.api_proxy is None else f"http://127.0.0.1:{self.api_proxy.port}/api"
        child = start_worker(
            api,
            "novel-events",
            self.workdir / f"worker-{n}.log",
            limit=knobs.WORKER_LIMIT,
            poll_seconds=knobs.WORKER_POLL_SECONDS,
            env=self.product_env(direct=False),
            name=f"{self.name}-worker-{n}",
        )
        self.workers.append(child)
        log(f"worker {n} started (pid {child.proc.pid})")
        return child

    def kill_worker(self, child: Child) -> None:
        """``kill -9`` of the worker and every run it started."""
        runs = [r for r in self.runs() if r["state"] in {"Running", "Pending"}]
        os.killpg(child.proc.pid, signal.SIGKILL)
        killed = _kill_run_processes(runs)
        child.proc.wait(10)
        log(f"killed worker {child.name} and {killed} run process(es)")

    def kill_runs_of(self, uids: set[str]) -> int:
        runs = [r for r in self.runs() if r["user"] in uids and r["state"] == "Running"]
        killed = _kill_run_processes(runs)
        log(f"killed {killed} run process(es) of {len(uids)} user(s)")
        return killed

    # -- Prefect ------------------------------------------------------------------------------------------

    def _client_call(self, fn: Callable[[Any], Any], attempts: int = 6) -> Any:
        """The harness's own Prefect calls, retried (an overloaded server answers 503 now and then)."""
        from prefect import get_client

        async def go() -> Any:
            async with get_client() as client:
                return await fn(client)

        for attempt in range(attempts):
            try:
                return asyncio.run(go())
            except Exception as err:
                if attempt == attempts - 1:
                    raise
                log(f"Prefect call failed ({type(err).__name__}); again in 5 s")
                time.sleep(5)

    def runs(self) -> list[dict[str, Any]]:
        """Every digest run of this scenario: id, user, state name, state message, expected start."""
        from prefect.client.schemas.filters import FlowFilter, FlowFilterName

        async def read(client: Any) -> list[Any]:
            out: list[Any] = []
            while True:
                page = await client.read_flow_runs(
                    flow_filter=FlowFilter(name=FlowFilterName(any_=["novel-events-digest"])),
                    limit=200,
                    offset=len(out),
                )
                out += page
                if len(page) < 200:
                    return out

        return [
            {
                "id": str(r.id),
                "user": r.parameters.get("user_id"),
                "state": r.state_name or "?",
                "message": (r.state.message if r.state else "") or "",
                "start": r.expected_start_time,
                "pid": r.infrastructure_pid,
            }
            for r in self._client_call(read)
        ]

    def create_run(self, uid: str, at: dt.datetime) -> str:
        from prefect.states import Scheduled

        async def create(client: Any) -> str:
            dep = await client.read_deployment_by_name(f"novel-events-digest/user-{uid}")
            run = await client.create_flow_run_from_deployment(
                dep.id, parameters={"user_id": uid}, state=Scheduled(scheduled_time=at)
            )
            return str(run.id)

        return str(self._client_call(create))

    def rerun(self, run_id: str) -> None:
        """What the UI's "Retry" of a finished run does: force it back to a scheduled state."""
        from prefect.states import AwaitingRetry

        async def again(client: Any) -> None:
            await client.set_flow_run_state(uuid.UUID(run_id), AwaitingRetry(), force=True)

        self._client_call(again)

    def ledger(self) -> dict[str, str]:
        """user -> ledger status (and detail) of the suite's slot."""
        with psycopg.connect(self.store_url(direct=True).replace("+psycopg", "")) as conn:
            rows = conn.execute("SELECT user_id, slot, status, detail FROM deliveries").fetchall()
        return {u: f"{st}" + (f" ({d[:120]})" if d and st != "sent" else "") for u, _slot, st, d in rows}
