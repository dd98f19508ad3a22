"""The ``novel-events-alert/email`` deployment: how alerts reach ``ALERT_EMAIL`` through our own mail backend.

Prefect OSS has no SMTP notification block, so each alert automation also *runs this deployment*
(a ``RunDeployment`` action whose ``subject``/``body`` parameters are the alert's templates); a worker
on the pool runs ``flows/alerts.py``, which sends through ``EMAIL_BACKEND`` (outbox, SMTP or SendGrid).
Consequence: alerts by email need a live worker; the pool-down alert still reaches the webhook.
"""

from __future__ import annotations

from uuid import UUID

from prefect.client.orchestration import PrefectClient
from prefect.exceptions import ObjectNotFound

from novel_events.errors import InvalidInput
from novel_events.models import check_email
from novel_events.settings import Settings

ALERT_FLOW = "novel-events-alert"
ALERT_DEPLOYMENT = "email"
ENTRYPOINT = "flows.alerts.alert_flow"
FULL_NAME = f"{ALERT_FLOW}/{ALERT_DEPLOYMENT}"
# Not tagged `novel-events`: `sync` owns (and deletes what it does not want among) deployments with that tag.
DESCRIPTION = "Emails one operator alert to NOVEL_EVENTS_ALERT_EMAIL. Run by the alert automations; managed by init."


def _address(settings: Settings) -> str | None:
    if not settings.alert_email or not settings.alert_email.strip():
        return None
    try:
        return check_email(settings.alert_email)
    except InvalidInput:
        raise InvalidInput(
            "NOVEL_EVENTS_ALERT_EMAIL", f"{settings.alert_email!r} is not an email address like oncall@example.com"
        ) from None


async def ensure_alert_deployment(client: PrefectClient, settings: Settings) -> tuple[UUID | None, str]:
    """(deployment id or None, one human line)."""
    to = _address(settings)
    try:
        existing = await client.read_deployment_by_name(FULL_NAME)
    except ObjectNotFound:
        existing = None
    if to is None:
        if existing is not None:
            await client.delete_deployment(existing.id)
            return None, f"deployment: {FULL_NAME} removed (NOVEL_EVENTS_ALERT_EMAIL not set)"
        return None, "alert email: off (NOVEL_EVENTS_ALERT_EMAIL not set)"
    want = {
        "entrypoint": ENTRYPOINT,
        "work_pool_name": settings.work_pool,
        "parameters": {"to": to},
        "description": DESCRIPTION,
    }
    if existing is not None and all(getattr(existing, k) == v for k, v in want.items()):
        return existing.id, f"deployment: {FULL_NAME} unchanged (alerts emailed to {to})"
    flow_id = await client.create_flow_from_name(ALERT_FLOW)
    dep_id = await client.create_deployment(
        flow_id=flow_id,
        name=ALERT_DEPLOYMENT,
        entrypoint=ENTRYPOINT,
        work_pool_name=settings.work_pool,
        parameters={"to": to},
        tags=["novel-events-alerts"],
        description=DESCRIPTION,
        enforce_parameter_schema=False,
        job_variables={},
        pull_steps=[],
        schedules=[],
    )
    return dep_id, f"deployment: {FULL_NAME} {'updated' if existing else 'created'} (alerts emailed to {to})"
