"""The Prefect settings every run's environment starts from, serialised once per settings object.

Prefect's workers build each run's environment from ``get_current_settings().to_environment_variables()``,
which serialises the whole settings tree (~200 fields, each through a secret-aware visitor): py-spy put it
at ~14 % of the worker's busy CPU in a 100-user burst, done twice per run (the job configuration's base
environment, and the forked run's own). The settings object does not change while a worker runs; when it is
replaced (``temporary_settings``, a refreshed context), the next call serialises the new one.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prefect.settings import Settings

_lock = threading.Lock()
_cached: tuple[Settings, dict[str, str]] | None = None


def settings_environment() -> dict[str, str]:
    """``get_current_settings().to_environment_variables(exclude_unset=True)``, a fresh copy per call."""
    global _cached
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    with _lock:
        if _cached is None or _cached[0] is not settings:
            _cached = (settings, settings.to_environment_variables(exclude_unset=True))
        return dict(_cached[1])
