"""The last Google fetch's numbers per user, in this process, for the run's summary (tasks/artifacts.py).

A digest's tasks run in its flow's process, so the fetch records here and the summary pops it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the Google client stays unimported for iCal-only workers
    from novel_events.sources.google import FetchStats

_lock = threading.Lock()
_last: dict[str, FetchStats] = {}


def record(user_id: str, stats: FetchStats) -> None:
    with _lock:
        _last[user_id] = stats


def pop(user_id: str) -> FetchStats | None:
    with _lock:
        return _last.pop(user_id, None)
