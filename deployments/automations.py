"""Alerting, as code: a webhook notification block, the alert-email deployment and the alert automations.

``ensure_automations`` keeps the server in the wanted shape, writing only differences (a second
``init`` changes nothing; edits in the UI are overwritten):

- when ``NOVEL_EVENTS_ALERT_WEBHOOK_URL`` is set, a ``Custom Webhook`` notification block
  ``novel-events-alerts``. The URL lives in the block's ``secrets`` (a ``SecretDict``, obfuscated in the
  API and UI); the block's ``url`` field is only the placeholder ``{{webhook_url}}``. It POSTs JSON
  ``{"text", "subject", "body", "source"}``: ``text`` makes Slack/Mattermost-style incoming webhooks
  work as they are, the rest is for anything else.
- when ``NOVEL_EVENTS_ALERT_EMAIL`` is set, the ``novel-events-alert/email`` deployment
  (deployments/alert_email.py): alerts are emailed through the product's own mail backend.
- one automation per rule in deployments/alert_rules.py (failed, late, pool down, maintenance failed,
  user failing, digest missed), each with one action per channel: ``SendNotification`` to the block
  and ``RunDeployment`` of the alert-email deployment with the same subject and body.

With neither setting the automations, the block (the stored secret) and the deployment are deleted.
The webhook URL is never put into returned lines, logs or exception messages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState, RunDeployment, SendNotification
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.exceptions import ObjectNotFound
from prefect.settings import get_current_settings
from prefect.types import SecretDict
from pydantic import SecretStr

from deployments.alert_email import ensure_alert_deployment
from deployments.alert_rules import ALL_NAMES, FAILED_NAME, Rule, rules
from novel_events.errors import InvalidInput
from novel_events.names import DIGEST_FLOW, MAINTENANCE_FLOW
from novel_events.settings import Settings

BLOCK_NAME = "novel-events-alerts"
BLOCK_TYPE_SLUG = "custom-webhook"
AUTOMATION_NAME = FAILED_NAME
ZOMBIE_NAME = "novel-events-zombie-runs"
ZOMBIE_MISSED_BEATS = 3
TAGS = ["novel-events"]
_URL_KEY = "webhook_url"
_SETTING = "NOVEL_EVENTS_ALERT_WEBHOOK_URL"

_COMPARED = {
    "description",
    "enabled",
    "tags",
    "trigger",
    "actions",
    "actions_on_trigger",
    "actions_on_resolve",
    "owner_resource",
}


def _block_data(url: SecretStr) -> dict[str, Any]:
    """The wanted block fields (the secret in clear: only ever sent to the API, never printed)."""
    raw = url.get_secret_value().strip()
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InvalidInput(_SETTING, "must be an http:// or https:// URL")
    return {
        "name": "novel-events",
        "url": "{{" + _URL_KEY + "}}",
        "method": "POST",
        "json_data": {
            "text": "{{subject}}\n{{body}}",
            "subject": "{{subject}}",
            "body": "{{body}}",
            "source": "{{name}}",
        },
        "headers": {"Content-Type": "application/json"},
        "allow_private_urls": True,  # an internal alert gateway is a normal target
        "secrets": {_URL_KEY: raw},
    }


async def _ensure_block(client: PrefectClient, url: SecretStr) -> tuple[UUID, str]:
    want = _block_data(url)
    try:
        doc = await client.read_block_document_by_name(BLOCK_NAME, BLOCK_TYPE_SLUG, include_secrets=True)
    except ObjectNotFound:
        doc = None
    if doc is not None and doc.id is not None and all(doc.data.get(k) == v for k, v in want.items()):
        return doc.id, "unchanged"
    try:
        block = CustomWebhookNotificationBlock(**{**want, "secrets": SecretDict(want["secrets"])})
        block_id = await block.asave(BLOCK_NAME, overwrite=True, client=client)
    except Exception as exc:  # Prefect's HTTP errors quote the request body, i.e. the secret: say less
        status = getattr(getattr(exc, "response", None), "status_code", None)
        raise RuntimeError(
            f"cannot save notification block '{BLOCK_NAME}': {type(exc).__name__}"
            + (f" (HTTP {status})" if status else "")
        ) from None
    return block_id, "created" if doc is None else "updated"


async def _remove_block(client: PrefectClient) -> bool:
    try:
        doc = await client.read_block_document_by_name(BLOCK_NAME, BLOCK_TYPE_SLUG, include_secrets=False)
    except ObjectNotFound:
        return False
    if doc.id is None:
        return False
    await client.delete_block_document(doc.id)
    return True


def desired_automation(rule: Rule, actions: list[Any]) -> AutomationCore:
    """The automation we want, with every field explicitly set (``update_automation`` sends only set fields)."""
    core = AutomationCore(
        name=rule.name,
        description=f"{rule.description} Managed by `novel-events init`: edits here are overwritten.",
        enabled=True,
        tags=list(TAGS),
        trigger=rule.trigger,
        actions=actions,
        actions_on_trigger=[],
        actions_on_resolve=[],
    )
    # The update endpoint rejects `owner_resource` (it is create-only), so leave it unset.
    return AutomationCore.model_validate(core.model_dump(mode="json", exclude={"owner_resource"}))


def _sorted_lists(value: Any) -> Any:
    """Sets come back from JSON as lists in any order: sort lists of strings for comparison."""
    if isinstance(value, dict):
        return {k: _sorted_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sorted_lists(v) for v in value]
        return sorted(items) if all(isinstance(v, str) for v in items) else items
    return value


def _comparable(automation: AutomationCore) -> Any:
    dumped = AutomationCore.model_validate(automation.model_dump(mode="json")).model_dump(
        mode="json", include=_COMPARED
    )
    return _sorted_lists(dumped)


async def _remove_automations(client: PrefectClient, names: tuple[str, ...]) -> list[str]:
    removed = []
    for name in names:
        existing = await client.read_automations_by_name(name)
        for automation in existing:
            await client.delete_automation(automation.id)
        if existing:
            removed.append(name)
    return removed


def zombie_automation(heartbeat_seconds: int) -> AutomationCore:
    """Mark our runs Crashed when their heartbeats stop (the worker or machine died).

    Prefect only notices a dead run when something says so; without this a killed run stays Running
    and holds its deployment's concurrency slot until the lease expires. Crashed runs then alert (the
    failure automation) and stuck deliveries are re-run by the maintenance sweep (tasks/recovery.py).

    The clock starts at the run's Running state as well as at each heartbeat: a run killed before its
    first heartbeat left (a one-second maintenance run, or a beat still queued in the events client) is
    crashed too. Without that it held its deployment's slot until the lease expired (5 min) and every
    recovery sweep meanwhile was cancelled on collision.
    """
    core = AutomationCore(
        name=ZOMBIE_NAME,
        description=(
            f"Marks {DIGEST_FLOW} and {MAINTENANCE_FLOW} runs Crashed after "
            f"{ZOMBIE_MISSED_BEATS} missed heartbeats (counted from Running or the last beat). "
            "Managed by `novel-events init`."
        ),
        enabled=True,
        tags=list(TAGS),
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": [DIGEST_FLOW, MAINTENANCE_FLOW]},
            after={"prefect.flow-run.heartbeat", "prefect.flow-run.Running"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
                "prefect.flow-run.TimedOut",
            },
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=heartbeat_seconds * ZOMBIE_MISSED_BEATS),
        ),
        actions=[
            ChangeFlowRunState(
                name="Crashed",
                state=StateType.CRASHED,
                force=False,
                message="No heartbeat from this run: its worker or machine died.",
            )
        ],
        actions_on_trigger=[],
        actions_on_resolve=[],
    )
    return AutomationCore.model_validate(core.model_dump(mode="json", exclude={"owner_resource"}))


async def _reconcile_automation(client: PrefectClient, want: AutomationCore) -> str:
    existing = await client.read_automations_by_name(want.name)  # newest first
    for duplicate in existing[1:]:  # e.g. two `init`s raced: keep one
        await client.delete_automation(duplicate.id)
    if not existing:
        await client.create_automation(want)
        return "created"
    if _comparable(existing[0]) != _comparable(want):
        await client.update_automation(existing[0].id, want)
        return "updated"
    return "unchanged"


async def ensure_zombie_automation(client: PrefectClient) -> list[str]:
    heartbeat = get_current_settings().flows.heartbeat_frequency
    if not heartbeat:
        return [f"automation: {ZOMBIE_NAME} off (PREFECT_FLOWS_HEARTBEAT_FREQUENCY is unset: no heartbeats)"]
    state = await _reconcile_automation(client, zombie_automation(heartbeat))
    return [f"automation: {ZOMBIE_NAME} {state} (crashed after {heartbeat * ZOMBIE_MISSED_BEATS}s without heartbeat)"]


def ui_url() -> str | None:
    """Where the Prefect UI is (``PREFECT_UI_URL``, else derived from ``PREFECT_API_URL``), for alert links."""
    url = get_current_settings().ui_url
    return str(url).rstrip("/") if url else None


async def ensure_automations(client: PrefectClient, settings: Settings) -> list[str]:
    """Make the alerts match the settings; returns one human line per object."""
    lines: list[str] = []
    webhook = settings.alert_webhook_url
    has_webhook = webhook is not None and bool(webhook.get_secret_value().strip())
    block_id: UUID | None = None
    if has_webhook:
        assert webhook is not None
        block_id, block_state = await _ensure_block(client, webhook)
        lines.append(f"block: Custom Webhook '{BLOCK_NAME}' {block_state}")
    elif await _remove_block(client):
        lines.append(f"block: Custom Webhook '{BLOCK_NAME}' removed")
    deployment_id, line = await ensure_alert_deployment(client, settings)
    lines.append(line)
    if block_id is None and deployment_id is None:
        removed = set(await _remove_automations(client, ALL_NAMES))
        lines.extend(
            f"automation: {name} " + ("removed" if name in removed else f"off ({_SETTING} not set)")
            for name in ALL_NAMES
        )
        return lines
    for rule in rules(settings, ui_url()):
        actions: list[Any] = []
        if block_id is not None:
            actions.append(SendNotification(block_document_id=block_id, subject=rule.subject, body=rule.body))
        if deployment_id is not None:
            actions.append(
                RunDeployment(
                    source="selected",
                    deployment_id=deployment_id,
                    parameters={"subject": rule.subject, "body": rule.body},
                    job_variables=None,
                )
            )
        state = await _reconcile_automation(client, desired_automation(rule, actions))
        lines.append(f"automation: {rule.name} {state}")
    return lines
