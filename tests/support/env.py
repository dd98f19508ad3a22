"""Environment helpers shared by tests (and used by tests/conftest.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_SECONDS = 30  # Prefect's minimum; workers started by tests beat this often
# A developer's shell, a .envrc or CI may export these; tests (and the servers and workers they start)
# must see only what the tests set themselves.
FOREIGN_PREFIXES = ("NOVEL_EVENTS_", "PREFECT_")


def strip_foreign_environment(environ: dict[str, str] | os._Environ[str] = os.environ) -> list[str]:
    """Remove every ``NOVEL_EVENTS_*`` and ``PREFECT_*`` variable; returns the names removed."""
    names = sorted(n for n in environ if n.startswith(FOREIGN_PREFIXES))
    for name in names:
        del environ[name]
    return names


@contextmanager
def environ(updates: dict[str, str]) -> Iterator[None]:
    """Set process environment variables (read by settings and inherited by child processes)."""
    old = {k: os.environ.get(k) for k in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def unique_id(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
