"""Helpers shared by benchmark scripts: fresh PostgreSQL databases, process CPU time, percentiles."""

from __future__ import annotations

import os
import secrets
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+{driver}://postgres@127.0.0.1:5432/{db}"
TICK = os.sysconf("SC_CLK_TCK")


@contextmanager
def postgres_database(prefix: str = "bench") -> Iterator[str]:
    """A fresh database in the local PostgreSQL, dropped afterwards; yields its name."""
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


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) used by a process group so far, including its exited, reaped children.

    Sums, over the group's live processes, their own time plus the time of the children they have waited
    for (cutime/cstime): a run process that exited is counted through the parent that reaped it.
    """
    ticks = 0
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            rest = (p / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(rest[2]) == pgid:  # field 5: pgrp
            ticks += sum(int(x) for x in rest[11:15])  # fields 14-17: utime, stime, cutime, cstime
    return ticks / TICK


def own_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of one process itself, children excluded."""
    rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / TICK


def wait_quiet(pgid: int, *, below: float = 0.15, window: float = 2.0, calm: int = 2, timeout: float = 300.0) -> float:
    """Wait until the group uses < ``below`` cores for ``calm`` windows in a row; returns seconds waited."""
    start = time.monotonic()
    quiet = 0
    last = group_cpu_seconds(pgid)
    while time.monotonic() - start < timeout:
        time.sleep(window)
        now = group_cpu_seconds(pgid)
        quiet = quiet + 1 if (now - last) / window < below else 0
        last = now
        if quiet >= calm:
            break
    return time.monotonic() - start


def pct(values: Sequence[float], p: float) -> float:
    """The p-th percentile (1-99, linear interpolation between ranks); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[max(0, min(98, int(p) - 1))]
