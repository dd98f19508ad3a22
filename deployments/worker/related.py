"""The objects a run's events name as related resources, handed to the run by the worker that already has them.

Prefect attaches to each event a run emits the run's flow, deployment, work queue and work pool. A run reads
each once, on its first event (four API reads per digest, each object validated again in the run), and keeps
them in ``prefect.events.related.RESOURCE_CACHE``. The worker has just read the deployment, the flow and the
pool to build the run's job configuration, and reads the pool's queue at most every 5 minutes: it passes
them to the forked run, which puts them in that cache before its engine starts. Events are unchanged
(``tests/unit/test_worker_type.py`` checks the resources a seeded run attaches without any API read).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Related(NamedTuple):
    kind: str  # Prefect's kind: "flow", "deployment", "work-queue", "work-pool"
    key: str  # the id the run looks it up by (the pool's name for a pool)
    obj: Any


def related_objects(*, flow: Any = None, deployment: Any = None, work_pool: Any = None) -> list[Related]:
    out = []
    if flow is not None:
        out.append(Related("flow", str(flow.id), flow))
    if deployment is not None:
        out.append(Related("deployment", str(deployment.id), deployment))
    if work_pool is not None:
        out.append(Related("work-pool", str(work_pool.name), work_pool))
    return out


def seed_run_cache(related: list[Related]) -> int:
    """In the run's process, before its engine starts: cache ``related`` as the run's events would; returns how
    many. Leaves the cache alone if its shape is not the one this was written for (the run then reads them)."""
    from prefect.events import related as prefect_related
    from prefect.types._datetime import now

    cache = getattr(prefect_related, "RESOURCE_CACHE", None)
    if not isinstance(cache, dict):
        return 0
    stamp = now("UTC")
    for item in related:
        cache[f"{item.kind}.{item.key}"] = ({"kind": item.kind, "object": item.obj}, stamp)
    return len(related)
