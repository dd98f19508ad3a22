"""The work pool, as code: of the project's ``novel-events`` worker type (warm, forked runs) by default.

Neither pool kind names an interpreter or relies on ``PATH``: the ``novel-events`` worker forks its runs
from a preloaded parent it starts with its own interpreter, and the stock ``process`` worker, with no
``command`` in the template, runs ``<its own sys.executable> -m prefect.engine`` (through a per-run
supervisor). So ``/abs/venv/bin/prefect worker start --pool novel-events`` works from any directory and PATH.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
from prefect.exceptions import ObjectNotFound

from deployments.worker import WORKER_TYPE

PoolKind = Literal["novel-events", "process"]
KINDS: tuple[PoolKind, ...] = (WORKER_TYPE, "process")
DESCRIPTIONS = {
    WORKER_TYPE: "novel-events digests: each run in its own process, forked from a warm parent. "
    "Managed by `novel-events init`.",
    "process": "novel-events digests (Prefect's stock process worker). Managed by `novel-events init`.",
}


def pool_template(kind: PoolKind = WORKER_TYPE) -> dict[str, Any]:
    """The base job template: the process worker's variables with no command (both kinds accept it)."""
    from prefect.workers.process import ProcessWorker

    from deployments.worker import NovelEventsWorker

    worker = NovelEventsWorker if kind == WORKER_TYPE else ProcessWorker
    template = copy.deepcopy(worker.get_default_base_job_template())
    assert template["variables"]["properties"]["command"].get("default") is None
    return template


async def ensure_pool(
    client: PrefectClient, name: str, *, kind: PoolKind = WORKER_TYPE, concurrency_limit: int | None = None
) -> str:
    """Create the pool or bring its template up to date; returns a short report of what happened.

    Prefect cannot change a pool's type: an existing pool of the other kind keeps its type (its template is
    still fixed); delete it (`prefect work-pool delete NAME`), re-run `init`, then `sync`, to switch.
    """
    template = pool_template(kind)
    try:
        pool = await client.read_work_pool(name)
    except ObjectNotFound:
        await client.create_work_pool(
            WorkPoolCreate(
                name=name,
                type=kind,
                base_job_template=template,
                concurrency_limit=concurrency_limit,
                description=DESCRIPTIONS[kind],
            )
        )
        return f"({kind}) created"
    note = "" if pool.type == kind else f"; kept type {pool.type!r} (delete the pool and re-run init to switch)"
    fixed = _without_command(pool.base_job_template)
    if fixed != pool.base_job_template:
        await client.update_work_pool(name, WorkPoolUpdate(base_job_template=fixed))
        return f"({pool.type}) updated: no command (runs use the worker's own interpreter){note}"
    return f"({pool.type}) unchanged{note}"


def _without_command(template: dict[str, Any]) -> dict[str, Any]:
    """The template with no default command (an older init set `python -m prefect.engine`, found on PATH)."""
    fixed = copy.deepcopy(template)
    command = fixed.get("variables", {}).get("properties", {}).get("command")
    if isinstance(command, dict) and command.get("default") is not None:
        command["default"] = None
    return fixed
