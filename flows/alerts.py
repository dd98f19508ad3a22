"""``novel-events-alert``: emails one operator alert. Run by the alert automations (``RunDeployment``)."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import Completed, State

from tasks.alerts import email_alert

FLOW_NAME = "novel-events-alert"


def _run_name() -> str:
    subject = str(flow_run.parameters.get("subject") or "alert")
    return "alert · " + subject.removeprefix("novel-events: ")[:80]


@flow(name=FLOW_NAME, flow_run_name=_run_name, timeout_seconds=5 * 60, validate_parameters=True)
def alert_flow(to: str, subject: str, body: str) -> State:
    """Email ``subject``/``body`` to ``to`` (the operator's ``ALERT_EMAIL``)."""
    provider_id = email_alert(to, subject, body, key=str(flow_run.id or subject))
    return Completed(message=f"alert emailed ({provider_id})")
