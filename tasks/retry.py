"""Retry policy shared by tasks: retry what is transient, never what is permanent."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from novel_events.errors import is_transient

T = TypeVar("T")

# Waits a server asks for (Retry-After, quota windows) are honoured up to this long inside the task.
MAX_HONOURED_RETRY_AFTER = 60.0


def honour_retry_after(exc: BaseException) -> None:
    """Before a transient failure propagates to Prefect's retry: wait as long as the server asked."""
    wait = getattr(exc, "retry_after", None)
    if is_transient(exc) and isinstance(wait, int | float) and wait > 0:
        time.sleep(min(float(wait), MAX_HONOURED_RETRY_AFTER))


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry only transient failures."""
    try:
        state.result()
    except Exception as exc:
        return is_transient(exc) or isinstance(exc, httpx.TransportError)  # the Prefect API blinked
    return False


def call_retrying(
    fn: Callable[[], T], *, budget: float, first: float = 1.0, cap: float = 30.0, log: Any = None, what: str = "store"
) -> T:
    """Call ``fn`` until it succeeds, retrying transient failures with jittered backoff for ``budget`` s.

    For steps that must not give up at the first blip (recording a send that happened) and that are
    plain functions rather than tasks. Permanent errors propagate at once.
    """
    deadline = time.monotonic() + budget
    wait = first
    while True:
        try:
            return fn()
        except Exception as exc:
            left = deadline - time.monotonic()
            if not is_transient(exc) or left <= 0:
                raise
            pause = min(wait * (0.5 + random.random()), cap, left)
            if log is not None:
                log.warning("%s unavailable (%s); retrying in %.0f s", what, exc, pause)
            time.sleep(pause)
            wait = min(wait * 2, cap)
