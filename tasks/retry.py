"""Retry policy shared by tasks: retry what is transient, never what is permanent."""

from __future__ import annotations

import time
from typing import Any

from novel_events.errors import is_transient

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
        return is_transient(exc)
    return False
