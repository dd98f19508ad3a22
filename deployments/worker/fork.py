"""Warm flow-run processes: forked from a parent that already imported Prefect and the flow modules.

The parent is :mod:`multiprocessing`'s *forkserver*: a clean, single-threaded interpreter that the worker
starts once (by absolute path, ``sys.executable``), which imports :data:`PRELOAD` and then forks one child
per flow run. A child is an ordinary OS process (own pid, own memory, own Prefect client): it takes the run's
environment, refreshes Prefect's settings from it and executes exactly what ``python -m prefect.engine``
executes. The forkserver reports each child's exit status back, so the worker sees a ``kill -9`` as a
non-zero exit and proposes Crashed, like for any process worker run.

Nothing here starts a thread or an event loop in the forkserver: a fork copies only the calling thread.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import multiprocessing
import multiprocessing.context
import os
import runpy
import sys
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.abc

from deployments.worker.handoff import Handoff, use_server_storage
from deployments.worker.related import seed_run_cache

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun
    from prefect.runner._control_channel import ControlChannel
    from prefect.runner._process_manager import ProcessHandle

# Imported once in the forkserver; every run's process starts with them loaded. Modules a digest would
# otherwise import on every run (measured with benchmarks/digest_profile.py --modules: Prefect's parameter
# serialisation pulls in FastAPI, its flow visualisation graphviz, its telemetry OpenTelemetry; anyio and
# SQLAlchemy load backends and dialects lazily) are listed too. The forkserver skips a module that does
# not import (an optional driver), so this list may name more than an installation has.
PRELOAD = [
    "prefect",
    "prefect.cli",  # a forked run re-runs the worker's __main__ (the `prefect` script), which imports it
    "prefect.engine",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.runtime",
    "prefect.utilities.visualization",
    "prefect_sqlalchemy",
    "fastapi.encoders",
    "fastapi.applications",
    "opentelemetry.metrics",
    "opentelemetry._logs",
    "anyio._backends._asyncio",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.postgresql",
    "psycopg",
    "email.policy",
    "email.generator",
    "email.headerregistry",
    "email.contentmanager",
    "http.cookies",
    "pydantic.color",
    "rich._emoji_codes",
    "flows.digest",
    "flows.maintenance",
    "tasks.digest",
    "tasks.deliver",
    "tasks.google",
    "novel_events.mailers.outbox",
    "novel_events.mailers.smtp",
    "novel_events.mailers.sendgrid_mailer",
    "deployments.worker.fork",
    "deployments.worker.warmup",  # last: runs one sample digest's pure steps (templates, parser, renderer)
]


def fork_context() -> multiprocessing.context.ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    assert isinstance(ctx, multiprocessing.context.ForkServerContext)
    return ctx


def start_fork_server() -> None:
    """Start the forkserver now (imports :data:`PRELOAD` once); later runs only fork."""
    from multiprocessing import forkserver

    fork_context().set_forkserver_preload(PRELOAD)
    forkserver.ensure_running()


def run_engine(env: dict[str, str], cwd: str | None, handoff: Handoff | None = None) -> None:
    """The child: become the flow run's process, then run Prefect's engine entry point."""
    os.environ.clear()
    os.environ.update(env)
    handoff = handoff or Handoff()
    if handoff.no_csrf:
        os.environ["PREFECT_CLIENT_CSRF_SUPPORT_ENABLED"] = "false"
    if handoff.sealing_key:  # read by the worker (see NovelEventsWorker.sealing_key), not by every run
        from tasks.sealed import use_key

        use_key(handoff.sealing_key)
    from prefect.context import refresh_global_settings_context

    refresh_global_settings_context()  # settings (API URL, heartbeat, logging) from this run's environment
    plain_console_logs()
    skip_suspension_watch()
    if handoff.related:  # what the worker read for this run, so its events need not read it again
        seed_run_cache(list(handoff.related))
    if handoff.storage is not None:
        use_server_storage(handoff.storage)
    if cwd:
        os.chdir(cwd)
    sys.argv = ["prefect.engine"]
    try:
        with warnings.catch_warnings():  # runpy warns that prefect.engine is already imported: it is, on purpose
            warnings.filterwarnings("ignore", category=RuntimeWarning, module="runpy")
            warnings.filterwarnings("ignore", message=".*found in sys.modules.*", category=RuntimeWarning)
            runpy.run_module("prefect.engine", run_name="__main__", alter_sys=True)
    finally:
        # multiprocessing ends a child with os._exit: flush Prefect's log/event workers as a normal exit would
        atexit._run_exitfuncs()


def plain_console_logs() -> int:
    """Let Prefect's console log handlers write plain lines when their stream is not a terminal.

    ``PrefectConsoleHandler`` prints each record through a Rich console, which asks the terminal's size and
    capabilities per line, only to write the same text when the stream is a file or a pipe (the worker's log,
    journald): ~15 ms of a forked digest's CPU (py-spy, 100-user burst). On a terminal it keeps its colours.
    Returns how many handlers now write plainly.
    """
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]
    plain = 0
    for handler in {h for lg in loggers for h in getattr(lg, "handlers", ())}:
        if isinstance(handler, PrefectConsoleHandler) and not _is_terminal(handler.stream):
            handler.emit = types.MethodType(logging.StreamHandler.emit, handler)  # type: ignore[method-assign]
            plain += 1
    return plain


def skip_suspension_watch() -> bool:
    """Run the flow without Prefect's watch for a suspension requested from outside the run.

    For every deployment run Prefect's engine starts a thread with its own event loop and API client, opens a
    websocket subscription to the server's event stream and reads the run, only to notice a suspension
    requested through the API while it runs. A digest takes seconds and is never suspended (cancelling goes
    through the worker, see the module docstring); the watch cost a share of every digest's server work.
    A suspension the flow itself asks for still works: that path is in-process. Returns whether it applied.
    """
    from prefect import flow_engine

    if not hasattr(flow_engine, "observe_flow_run_suspension"):  # a Prefect without it: nothing to skip
        return False
    flow_engine.observe_flow_run_suspension = _no_suspension_watch
    return True


@contextlib.contextmanager
def _no_suspension_watch(
    flow_run_id: object, suspension_request: object, polling_interval: float = 10
) -> Iterator[None]:
    yield


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


class ForkStarter:
    """A ``ProcessStarter`` (see prefect.runner._flow_run_executor) that forks instead of exec'ing Python."""

    def __init__(
        self,
        *,
        env: dict[str, str | None],
        cwd: Path | str | None = None,
        control_channel: ControlChannel | None = None,
        handoff: Handoff | None = None,
    ) -> None:
        self._env = env
        self._cwd = cwd
        self._control_channel = control_channel
        self._handoff = handoff  # passed to the child as an argument: never in its environment

    def _run_env(self, flow_run: FlowRun, control_env: dict[str, str]) -> dict[str, str]:
        from prefect.utilities.processutils import sanitize_subprocess_env

        from deployments.worker.environment import settings_environment
        from deployments.worker.tls import use_small_ca_for_plain_http

        # the same precedence as Prefect's EngineCommandStarter: worker env < job env < worker settings
        env: dict[str, str | None] = {**os.environ, **self._env}
        env.update(settings_environment())
        env.update(
            {
                "PREFECT__FLOW_RUN_ID": str(flow_run.id),
                "PREFECT__ENABLE_CANCELLATION_AND_CRASHED_HOOKS": "false",
                **control_env,
            }
        )
        use_small_ca_for_plain_http(env)  # 7 TLS contexts per run, none used on an http:// API (see tls.py)
        return sanitize_subprocess_env(env)

    async def start(
        self, flow_run: FlowRun, task_status: anyio.abc.TaskStatus[ProcessHandle] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        from prefect.runner._process_manager import ProcessHandle

        control_env: dict[str, str] = {}
        registered = False
        if self._control_channel is not None:
            try:
                port, token = self._control_channel.register(flow_run.id)
                control_env = {"PREFECT__CONTROL_PORT": str(port), "PREFECT__CONTROL_TOKEN": token}
                registered = True
            except RuntimeError:  # no loopback listener: cancellation falls back to killing the process
                pass
        proc = fork_context().Process(
            target=run_engine,
            args=(
                self._run_env(flow_run, control_env),
                str(self._cwd) if self._cwd else None,
                self._handoff,
            ),
            name=f"flow-run-{flow_run.id}",
            daemon=False,
        )
        try:
            await anyio.to_thread.run_sync(proc.start)
        except BaseException:
            if registered and self._control_channel is not None:
                self._control_channel.unregister(flow_run.id)
            raise
        task_status.started(ProcessHandle(proc))  # type: ignore[arg-type]  # any Process with exitcode
        await _exited(proc)


async def _exited(proc: multiprocessing.process.BaseProcess) -> None:
    """Wait, without a thread, until the forkserver reports the child's exit status."""
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    sentinel = proc.sentinel
    loop.add_reader(sentinel, done.set)
    try:
        while proc.exitcode is None:
            await done.wait()
            done.clear()
    finally:
        loop.remove_reader(sentinel)
