"""Start and stop a local Prefect server and workers (demo, ``up``, tests).

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
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)  # PATH as given: nothing we start looks `python` up on it
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("PREFECT_CLI_COLORS", "false")
    env.update(extra or {})
    return env


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    client_env: dict[str, str] = field(default_factory=dict)  # what a client of this child needs (API auth)

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
    proc = subprocess.Popen(
        args, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    out.close()
    return Child(name, proc, log)


def server_env(
    prefect_home: Path,
    *,
    ui: bool,
    scheduler_loop: float | None = None,
    database_url: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    env = {
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_UI_ENABLED": "true" if ui else "false",
        "PREFECT_SERVER_UI_ENABLED": "true" if ui else "false",
        # Keep a few runs ahead per user instead of up to 100: thousands of users stay cheap.
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS": "5",
        "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS": "2",
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME": "P8D",
        # Deployment concurrency leases on disk (PREFECT_HOME/concurrency_leases), not in the server's memory:
        # a restarted server still knows which run holds each user's slot, instead of cancelling it.
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem",
    }
    if scheduler_loop is not None:
        env["PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS"] = str(scheduler_loop)
        env["PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS"] = str(scheduler_loop)
    if database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    env.update(extra or {})
    return env


def start_server(
    prefect_home: Path,
    *,
    port: int | None = None,
    ui: bool = False,
    scheduler_loop: float | None = None,
    database_url: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    secrets_dir: Path | None = None,
) -> tuple[Child, str]:
    """Start ``prefect server start`` and wait until its API answers; returns (child, api_url).

    The API requires an auth string and block data is encrypted with a key of ours (both kept in
    0600 files in ``secrets_dir``, default ``<prefect_home>-secrets``, see :mod:`cli.server_secrets`);
    ``child.client_env`` holds what workers and clients need (``PREFECT_API_AUTH_STRING``).
    """
    from cli.server_secrets import client_env, server_secret_env

    port = port or free_port()
    secrets_dir = secrets_dir or prefect_home.with_name(f"{prefect_home.name}-secrets")
    secret_env = server_secret_env(secrets_dir, None if database_url else prefect_home)
    env = base_env(
        {
            **server_env(
                prefect_home, ui=ui, scheduler_loop=scheduler_loop, database_url=database_url, extra=extra_env
            ),
            **secret_env,
        }
    )
    child = _spawn(
        "prefect-server",
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env,
        prefect_home / "server.log",
    )
    child.client_env = client_env(secrets_dir)
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


WORKER_KINDS = ("novel-events", "process")


def start_worker(
    api_url: str,
    pool: str,
    log: Path,
    *,
    limit: int = 4,
    poll_seconds: float = 5.0,
    env: Mapping[str, str] | None = None,
    name: str | None = None,
    kind: str = "novel-events",
) -> Child:
    """A worker on ``pool``: ``kind`` ``novel-events`` (warm forked runs, the default) or ``process``
    (Prefect's stock process worker). ``limit`` defaults to 4: on SQLite more parallel runs crash on locks."""
    if kind not in WORKER_KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(WORKER_KINDS)}")
    worker_env = base_env(
        {
            "PREFECT_API_URL": api_url,
            "PREFECT_WORKER_QUERY_SECONDS": str(poll_seconds),
            "PREFECT_WORKER_PREFETCH_SECONDS": "5",
            # Heartbeats let the zombie automation (`novel-events init`) mark runs of a dead worker Crashed.
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": os.environ.get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "30"),
            # Runs ride out a Prefect server restart: 7 retries back off 2, 4, ... 128 s (about 4 minutes).
            "PREFECT_CLIENT_MAX_RETRIES": os.environ.get("PREFECT_CLIENT_MAX_RETRIES", "7"),
            **(env or {}),
        }
    )
    args = [str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", kind, "--limit", str(limit)]
    if name:
        args += ["--name", name]
    return _spawn(name or "worker", args, worker_env, log)


def start_web(
    api_url: str,
    log: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> Child:
    """``novel-events web``; waits until /healthz answers."""
    child = _spawn(
        "web",
        [str(BIN / "novel-events"), "web", "--host", host, "--port", str(port)],
        base_env({"PREFECT_API_URL": api_url, **(env or {})}),
        log,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"novel-events web exited early:\n{child.tail()}")
        try:
            if httpx.get(f"http://{host}:{port}/healthz", timeout=2).status_code == 200:
                return child
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    child.stop()
    raise RuntimeError(f"novel-events web did not answer on {host}:{port} within {timeout:.0f}s:\n{child.tail()}")
