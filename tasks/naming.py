"""Task run names that say what the task does and for whom: ``email the digest · ada``.

Use as ``@task(..., task_run_name=for_user("email the digest"))``; the user id is read from the task's
``user_id`` parameter or its ``user`` parameter's ``id``.
"""

from __future__ import annotations

from collections.abc import Callable

from prefect.runtime import task_run


def _user_id() -> str | None:
    params = task_run.parameters or {}
    uid = params.get("user_id") or getattr(params.get("user"), "id", None)
    return str(uid) if uid else None


def for_user(doing: str) -> Callable[[], str]:
    def name() -> str:
        uid = _user_id()
        return f"{doing} · {uid}" if uid else doing

    name.__name__ = "task_run_name_" + "_".join(doing.split())[:40]
    return name
