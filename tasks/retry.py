"""Retry policy shared by tasks: retry what is transient, never what is permanent."""

from __future__ import annotations

from typing import Any

from novel_events.errors import is_transient


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry only transient failures."""
    try:
        state.result()
    except Exception as exc:
        return is_transient(exc)
    return False
