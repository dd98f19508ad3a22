"""Run names that say whose digest and which slot: ``ada · Thu 3 Dec 07:30 CET`` (``flow_run_name=``)."""

from __future__ import annotations

import datetime as dt

from prefect.runtime import flow_run

from novel_events.runnames import digest_run_name


def _timezone(user_id: str) -> str | None:
    from tasks import store

    try:
        return store.users().get(user_id).timezone
    except Exception:  # an unknown user or an unreachable store: the run itself will say why
        return None


def digest_flow_run_name() -> str:
    """The digest run's name, from its parameters and scheduled start, in the user's own zone."""
    params = flow_run.parameters or {}
    user_id = str(params.get("user_id") or "?")
    when = flow_run.scheduled_start_time
    if when is not None and not isinstance(when, dt.datetime):
        when = dt.datetime.fromisoformat(str(when))
    return digest_run_name(
        user_id, when, _timezone(user_id), manual=bool(params.get("manual")), dry_run=bool(params.get("dry_run"))
    )
