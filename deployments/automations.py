"""Failure alerting, as code: a webhook notification block and the automation that uses it. Idempotent.

When ``NOVEL_EVENTS_ALERT_WEBHOOK_URL`` is set, ``ensure_automations`` keeps two objects on the Prefect
server in the wanted shape, writing only differences:

- a ``Custom Webhook`` notification block ``novel-events-alerts``. The URL lives in the block's
  ``secrets`` (a ``SecretDict``, obfuscated in the API and UI); the block's ``url`` field is only the
  placeholder ``{{webhook_url}}``. It POSTs JSON ``{"text", "subject", "body", "source"}``: ``text``
  makes Slack/Mattermost-style incoming webhooks work as they are, the rest is for anything else.
- the automation ``novel-events-digest-failed``: reactive, threshold 1, within 0, one bucket per flow
  run, on ``prefect.flow-run.Failed|Crashed|TimedOut`` of flow runs related to the flow
  ``novel-events-digest``; its action sends a notification through that block with the run, the
  deployment (``user-<id>``) and the final state's message. Should the flow get retries again, they
  would not alert: a retried run passes through ``AwaitingRetry`` and emits ``Failed`` only at the end.

When the setting is removed, the automation and the block (the stored secret) are deleted.

``NOVEL_EVENTS_ALERT_EMAIL`` is not wired: Prefect OSS ships no SMTP notification block (that needs the
separate ``prefect-email`` collection) and its ``SendgridEmail`` block talks to api.sendgrid.com through
Apprise, ignoring ``NOVEL_EVENTS_SENDGRID_HOST``. ``ensure_automations`` says so in one line; point the
webhook at a mail gateway to get alerts by email.

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
from prefect.events.actions import ChangeFlowRunState, SendNotification
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.exceptions import ObjectNotFound
from prefect.settings import get_current_settings
from prefect.types import SecretDict
from pydantic import SecretStr

from novel_events.errors import InvalidInput
from novel_events.names import DIGEST_FLOW, MAINTENANCE_FLOW
from novel_events.settings import Settings

BLOCK_NAME = "novel-events-alerts"
BLOCK_TYPE_SLUG = "custom-webhook"
AUTOMATION_NAME = "novel-events-digest-failed"
ZOMBIE_NAME = "novel-events-zombie-runs"
ZOMBIE_MISSED_BEATS = 3
# TimedOut is a FAILED-type state with its own name, hence its own event.
FAILURE_EVENTS = ("prefect.flow-run.Crashed", "prefect.flow-run.Failed", "prefect.flow-run.TimedOut")
TAGS = ["novel-events"]
_URL_KEY = "webhook_url"
_SETTING = "NOVEL_EVENTS_ALERT_WEBHOOK_URL"

EMAIL_SKIPPED = ("alert email: not sent (Prefect OSS has no SMTP notification block); "
                 "point NOVEL_EVENTS_ALERT_WEBHOOK_URL at a mail gateway instead")

# Prefect automation templates (Jinja, sandboxed), rendered by the server when the action runs.
# `flow_run` carries the state from the triggering event; `deployment` is None for runs without one.
SUBJECT = (
    "novel-events: {{ deployment.name if deployment else 'digest' }} {{ flow_run.state.name }}"
    " ({{ flow_run.name }})"
)
BODY = "\n".join([
    "Digest run {{ flow_run.name }} of " + DIGEST_FLOW
    + "/{{ deployment.name if deployment else '(no deployment)' }} ended {{ flow_run.state.name }}"
    "{% if flow_run.parameters.manual %} (manual run){% endif %}.",
    "Reason: {{ (flow_run.state.message or 'no message') | truncate(1000) }}",
    "User: {{ flow_run.parameters.user_id }}",
    "Scheduled for: {{ flow_run.expected_start_time }}",
    "Flow run id: {{ flow_run.id }}",
])
_COMPARED = {"description", "enabled", "tags", "trigger", "actions", "actions_on_trigger", "actions_on_resolve",
             "owner_resource"}


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
        "json_data": {"text": "{{subject}}\n{{body}}", "subject": "{{subject}}", "body": "{{body}}",
                      "source": "{{name}}"},
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
        raise RuntimeError(f"cannot save notification block '{BLOCK_NAME}': {type(exc).__name__}"
                           + (f" (HTTP {status})" if status else "")) from None
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


def desired_automation(block_id: UUID) -> AutomationCore:
    """The automation we want, with every field explicitly set (``update_automation`` sends only set fields)."""
    core = AutomationCore(
        name=AUTOMATION_NAME,
        description=(f"Alerts {_SETTING} when a {DIGEST_FLOW} run fails, crashes or times out. "
                     "Managed by `novel-events init`: edits here are overwritten."),
        enabled=True,
        tags=list(TAGS),
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": DIGEST_FLOW},
            after=set(),
            expect=set(FAILURE_EVENTS),
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[SendNotification(block_document_id=block_id, subject=SUBJECT, body=BODY)],
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
        mode="json", include=_COMPARED)
    return _sorted_lists(dumped)


async def _remove_automations(client: PrefectClient) -> bool:
    existing = await client.read_automations_by_name(AUTOMATION_NAME)
    for automation in existing:
        await client.delete_automation(automation.id)
    return bool(existing)


def zombie_automation(heartbeat_seconds: int) -> AutomationCore:
    """Mark our runs Crashed when their heartbeats stop (the worker or machine died).

    Prefect only notices a dead run when something says so; without this a killed run stays Running
    and holds its deployment's concurrency slot until the lease expires. Crashed runs then alert (the
    failure automation) and stuck deliveries are re-run by the maintenance sweep (tasks/recovery.py).
    """
    core = AutomationCore(
        name=ZOMBIE_NAME,
        description=(f"Marks {DIGEST_FLOW} and {MAINTENANCE_FLOW} runs Crashed after "
                     f"{ZOMBIE_MISSED_BEATS} missed heartbeats. Managed by `novel-events init`."),
        enabled=True,
        tags=list(TAGS),
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": [DIGEST_FLOW, MAINTENANCE_FLOW]},
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", "prefect.flow-run.Completed", "prefect.flow-run.Failed",
                    "prefect.flow-run.Cancelled", "prefect.flow-run.Crashed", "prefect.flow-run.TimedOut"},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=heartbeat_seconds * ZOMBIE_MISSED_BEATS),
        ),
        actions=[ChangeFlowRunState(name="Crashed", state=StateType.CRASHED, force=False,
                                    message="No heartbeat from this run: its worker or machine died.")],
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


async def ensure_automations(client: PrefectClient, settings: Settings) -> list[str]:
    """Make the failure alert match the settings; returns one human line per object."""
    lines: list[str] = []
    if settings.alert_email:
        lines.append(EMAIL_SKIPPED)
    if settings.alert_webhook_url is None or not settings.alert_webhook_url.get_secret_value().strip():
        removed = await _remove_automations(client)
        lines.append(f"automation: {AUTOMATION_NAME} "
                     + ("removed" if removed else f"off ({_SETTING} not set)"))
        if await _remove_block(client):
            lines.append(f"block: Custom Webhook '{BLOCK_NAME}' removed")
        return lines

    block_id, block_state = await _ensure_block(client, settings.alert_webhook_url)
    lines.append(f"block: Custom Webhook '{BLOCK_NAME}' {block_state}")
    state = await _reconcile_automation(client, desired_automation(block_id))
    lines.append(f"automation: {AUTOMATION_NAME} {state}")
    return lines
