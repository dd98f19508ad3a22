"""Start and stop a local Prefect server and process workers (demo, ``up``, tests).

Everything listens on 127.0.0.1. Children are started in their own process group and stopped
with SIGINT, then SIGTERM, then SIGKILL, so nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # The pool's job command is `python -m prefect.engine`: make `python` this environment's python.
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("PREFECT_CLI_COLORS", "false")
    env.update(extra or {})
    return env


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float = 15.0) -> None:
        if not self.alive():
            return
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def _spawn(name: str, args: list[str], env: dict[str, str], log: Path) -> Child:
    log.parent.mkdir(parents=True, exist_ok=True)
    out = open(log, "ab")  # noqa: SIM115 - owned by the child for its lifetime
    proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    out.close()
    return Child(name, proc, log)


def server_env(prefect_home: Path, *, ui: bool, scheduler_loop: float | None = None,
               database_url: str | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_UI_ENABLED": "true" if ui else "false",
        "PREFECT_SERVER_UI_ENABLED": "true" if ui else "false",
        # Keep a few runs ahead per user instead of up to 100: thousands of users stay cheap.
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS": "5",
        "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS": "2",
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME": "P8D",
    }
    if scheduler_loop is not None:
        env["PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS"] = str(scheduler_loop)
        env["PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS"] = str(scheduler_loop)
    if database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    env.update(extra or {})
    return env


def start_server(prefect_home: Path, *, port: int | None = None, ui: bool = False,
                 scheduler_loop: float | None = None, database_url: str | None = None,
                 extra_env: Mapping[str, str] | None = None, timeout: float = 300.0) -> tuple[Child, str]:
    """Start ``prefect server start`` and wait until its API answers; returns (child, api_url)."""
    port = port or free_port()
    env = base_env(server_env(prefect_home, ui=ui, scheduler_loop=scheduler_loop, database_url=database_url,
                              extra=extra_env))
    child = _spawn("prefect-server", [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                                      "--port", str(port)],
                   env, prefect_home / "server.log")
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"prefect server exited early:\n{child.tail()}")
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return child, api
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    child.stop()
    raise RuntimeError(f"prefect server did not answer on {api} within {timeout:.0f}s:\n{child.tail()}")


def start_worker(api_url: str, pool: str, log: Path, *, limit: int = 4, poll_seconds: float = 5.0,
                 env: Mapping[str, str] | None = None, name: str | None = None) -> Child:
    """A process worker. ``limit`` defaults to 4: on SQLite more parallel runs crash on locks."""
    worker_env = base_env({
        "PREFECT_API_URL": api_url,
        "PREFECT_WORKER_QUERY_SECONDS": str(poll_seconds),
        "PREFECT_WORKER_PREFETCH_SECONDS": "5",
        # Heartbeats let the zombie automation (`novel-events init`) mark runs of a dead worker Crashed.
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": os.environ.get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "30"),
        **(env or {}),
    })
    args = [str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process", "--limit", str(limit)]
    if name:
        args += ["--name", name]
    return _spawn(name or "worker", args, worker_env, log)
