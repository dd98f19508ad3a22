"""What every benchmark measures with and prints: the machine, timers, CPU of a process group, call
counters, cold-import cost, Markdown tables. Run the scripts from the repository root
(``.venv/bin/python benchmarks/NAME.py``): ``benchmarks/`` is then on ``sys.path``.
"""

from __future__ import annotations

import functools
import gc
import inspect
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def describe(*extra: str) -> str:
    """The machine line printed with every table: CPU model, cores, Python, and ``extra`` (versions...)."""
    model = platform.processor() or platform.machine() or "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    parts = [model, f"{os.cpu_count()} cores", f"Python {platform.python_version()} ({platform.system()})", *extra]
    return ", ".join([*parts, f"speed check {speed_check_ms():.0f} ms"])


def speed_check_ms() -> float:
    """CPU ms of a fixed pure-Python loop (best of 3). This VM's speed drifts (``import prefect`` took 1.2 CPU-s
    one day and 2.9 the next): figures taken at different times compare only next to this number, or side by
    side in one run."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        total = 0
        for i in range(1_000_000):
            total += i * i
        best = min(best, time.process_time() - start)
    return best * 1000


# -- timing ----------------------------------------------------------------------------------------------


@dataclass
class Elapsed:
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process, user + system


@contextmanager
def stopwatch() -> Iterator[Elapsed]:
    """``with stopwatch() as t: ...`` then ``t.seconds`` (wall) and ``t.cpu_seconds`` (this process)."""
    result = Elapsed()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - wall
        result.cpu_seconds = time.process_time() - cpu


def best_of(repeat: int, fn: Callable[[], Any], *, before: Callable[[], None] | None = None) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs of ``fn`` (after ``before`` and a garbage collection each) and its result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        if before is not None:
            before()
        gc.collect()
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def cold_import_seconds(*modules: str) -> float:
    """Seconds a fresh interpreter takes to import ``modules`` (what each CLI invocation pays)."""
    code = "import time; t = time.perf_counter()\n" + "".join(f"import {m}\n" for m in modules)
    code += "print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


@dataclass
class CallLog:
    """Durations of successful calls and counts of failed ones, per name, for wrapped functions."""

    calls: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failed: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def clear(self) -> None:
        self.calls.clear()
        self.failed.clear()

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` (sync or async) timed into this log under ``name``."""
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                t = time.perf_counter()
                try:
                    result = await fn(*args, **kwargs)
                except BaseException:
                    self.failed[name] += 1
                    raise
                self.calls[name].append(time.perf_counter() - t)
                return result

            return timed_async

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
            except BaseException:
                self.failed[name] += 1
                raise
            self.calls[name].append(time.perf_counter() - t)
            return result

        return timed

    def instrument(self, owner: Any, *names: str, prefix: str = "") -> None:
        """Replace ``owner.<name>`` (a class or module attribute) by its timed version, for each name."""
        for name in names:
            setattr(owner, name, self.wrap(prefix + name, getattr(owner, name)))

    def total(self, names: Sequence[str]) -> tuple[int, float]:
        values = [v for k in names for v in self.calls.get(k, [])]
        return len(values), sum(values)


# -- CPU of other processes ------------------------------------------------------------------------------


def group_cpu_seconds(pgid: int, *, children: bool = True) -> float:
    """User + system CPU seconds of every live process in the process group (a server and its children).

    With ``children`` (the default), the time of exited children their parents have reaped (cutime/cstime) is
    included: a flow-run process that exited is counted through the worker or forkserver that waited for it.
    """
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
            ticks += sum(int(x) for x in rest[11 : 15 if children else 13])  # utime, stime[, cutime, cstime]
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores, every process: PostgreSQL included), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of one process itself, children excluded."""
    rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def wait_quiet(pgid: int, *, below: float = 0.15, window: float = 2.0, calm: int = 3, timeout: float = 900.0) -> float:
    """Wait until the process group uses < ``below`` cores for ``calm`` windows in a row; returns seconds busy."""
    start = time.monotonic()
    quiet = 0
    last = group_cpu_seconds(pgid)
    while time.monotonic() - start < timeout:
        time.sleep(window)
        now = group_cpu_seconds(pgid)
        quiet = quiet + 1 if (now - last) / window < below else 0
        last = now
        if quiet >= calm:
            return max(0.0, time.monotonic() - start - calm * window)
    return time.monotonic() - start


def pct(values: Sequence[float], p: float) -> float:
    """The p-th percentile (1-99, linear interpolation between ranks); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[max(0, min(98, int(p) - 1))]


# -- fresh PostgreSQL databases ---------------------------------------------------------------------------


@contextmanager
def one_user_server(prefix: str) -> Iterator[tuple[Any, int]]:
    """A temporary ``prefect server start`` (SQLite), ``init`` done and one iCal sample user added by the CLI
    in its own process (this one then imports only what a forked run has); mail goes to the outbox. Sets this
    process's environment for it; yields (the sample person, the server's pid). Stops the server afterwards."""
    import datetime as dt
    import tempfile

    from cli.processes import BIN, start_server
    from novel_events.samples import PEOPLE, build_ics

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    ics_root = tmp / "ics"
    ics_root.mkdir()
    os.environ.update(
        {
            "PREFECT_HOME": str(tmp / "client-prefect"),
            "NOVEL_EVENTS_HOME": str(tmp / "home"),
            "NOVEL_EVENTS_EMAIL_BACKEND": "outbox",
            "NOVEL_EVENTS_ICS_ROOT": str(ics_root),
            "NOVEL_EVENTS_MAINTENANCE_EVERY_MINUTES": "0",
            "NOVEL_EVENTS_RECOVERY_EVERY_MINUTES": "0",
        }
    )
    server, api = start_server(tmp / "prefect", extra_env={"PREFECT_API_URL": ""})
    os.environ.update({"PREFECT_API_URL": api, **server.client_env})
    try:
        person = PEOPLE[0]
        ics = ics_root / f"{person.user_id}.ics"
        ics.write_bytes(build_ics(person, dt.date.today()))
        cli = str(BIN / "novel-events")
        subprocess.run([cli, "init"], check=True, capture_output=True)
        add = ["users", "add", person.user_id, "--email", person.email, "--timezone", person.timezone]
        add += ["--schedule", "daily", "--at", "07:30", "--source", f"ics:{ics}", "--send-when-empty"]
        subprocess.run([cli, *add], check=True, capture_output=True)
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: api}):
            yield person, server.proc.pid
    finally:
        server.stop()


PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+{driver}://postgres@127.0.0.1:5432/{db}"


@contextmanager
def postgres_database(prefix: str = "bench") -> Iterator[str]:
    """A fresh database in the local PostgreSQL, dropped afterwards; yields its name."""
    import sqlalchemy as sa

    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- output ----------------------------------------------------------------------------------------------


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; a column named with a trailing ``:`` (e.g. ``"events:"``) is right-aligned."""
    heads = [c.removesuffix(":") for c in columns]
    rules = ["-" * max(3, len(h)) + (":" if c.endswith(":") else "") for c, h in zip(columns, heads, strict=True)]
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join(rules) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def print_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    print(markdown_table(columns, rows), flush=True)
