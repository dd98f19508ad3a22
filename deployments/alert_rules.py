"""The alert rules, as Prefect automation triggers plus the subject/body each alert carries.

Every rule names the user (or the pool), the state, the reason and a link to the run in the UI, and
nothing else: no tokens, no addresses, no event content. Templates are Jinja, rendered by the Prefect
server when the automation fires; the same subject/body go to the webhook and to ``ALERT_EMAIL``.

| rule | fires when | once per |
|---|---|---|
| ``novel-events-digest-failed`` | a digest run ends Failed, Crashed or TimedOut | run |
| ``novel-events-digest-late`` | a digest run stays Late for ``LATE_ALERT_MINUTES`` | run |
| ``novel-events-pool-down`` | the pool has no healthy worker for ``WORKER_DOWN_ALERT_MINUTES`` | outage |
| ``novel-events-maintenance-failed`` | the maintenance run ends Failed, Crashed or TimedOut | run |
| ``novel-events-user-failing`` | a user's last 3 scheduled slots failed (event from the maintenance job) | episode |
| ``novel-events-digest-missed`` | a slot's window closed undelivered (event from the recovery sweep) | slot |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from prefect.events.schemas.automations import EventTrigger, Posture

from novel_events.jobs import DIGEST_FLOW, MAINTENANCE_FLOW
from novel_events.notices import FAILING_EVENT, FAILING_SLOTS, MISSED_EVENT, USER_RESOURCE_PREFIX
from novel_events.settings import Settings

FAILED_NAME = "novel-events-digest-failed"
LATE_NAME = "novel-events-digest-late"
POOL_NAME = "novel-events-pool-down"
MAINTENANCE_NAME = "novel-events-maintenance-failed"
FAILING_NAME = "novel-events-user-failing"
MISSED_NAME = "novel-events-digest-missed"
ALL_NAMES = (FAILED_NAME, LATE_NAME, POOL_NAME, MAINTENANCE_NAME, FAILING_NAME, MISSED_NAME)

USER_RESOURCE = USER_RESOURCE_PREFIX + "*"

# TimedOut is a FAILED-type state with its own name, hence its own event.
FAILURE_EVENTS = ("prefect.flow-run.Crashed", "prefect.flow-run.Failed", "prefect.flow-run.TimedOut")
STARTED_OR_DONE = (
    "prefect.flow-run.Pending",
    "prefect.flow-run.Running",
    "prefect.flow-run.Completed",
    "prefect.flow-run.Failed",
    "prefect.flow-run.Crashed",
    "prefect.flow-run.Cancelled",
    "prefect.flow-run.Cancelling",
    "prefect.flow-run.TimedOut",
    "prefect.flow-run.Scheduled",
    "prefect.flow-run.Paused",
)

_DEP = "{{ deployment.name if deployment else 'digest' }}"
_USER_FROM_EVENT = "{{ event.resource.id | replace('novel-events.user.', '') }}"


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    trigger: EventTrigger
    subject: str
    body: str


def run_link(ui_url: str | None, run_id: str = "{{ flow_run.id }}") -> str:
    return f"Link: {ui_url.rstrip('/')}/runs/flow-run/{run_id}" if ui_url else f"Flow run id: {run_id}"


def _flow_runs(flow: str, expect: tuple[str, ...]) -> EventTrigger:
    return EventTrigger(
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={"prefect.resource.role": "flow", "prefect.resource.name": flow},
        after=set(),
        expect=set(expect),
        for_each={"prefect.resource.id"},
        posture=Posture.Reactive,
        threshold=1,
        within=timedelta(0),
    )


def _user_event(event: str) -> EventTrigger:
    return EventTrigger(
        match={"prefect.resource.id": USER_RESOURCE},
        match_related={},
        after=set(),
        expect={event},
        for_each={"prefect.resource.id"},
        posture=Posture.Reactive,
        threshold=1,
        within=timedelta(0),
    )


def failed_rule(ui_url: str | None) -> Rule:
    return Rule(
        FAILED_NAME,
        f"Alerts when a {DIGEST_FLOW} run fails, crashes or times out.",
        _flow_runs(DIGEST_FLOW, FAILURE_EVENTS),
        subject="novel-events: " + _DEP + " {{ flow_run.state.name }} ({{ flow_run.name }})",
        body="\n".join(
            [
                "Digest run {{ flow_run.name }} of "
                + DIGEST_FLOW
                + "/{{ deployment.name if deployment else '(no deployment)' }} ended {{ flow_run.state.name }}"
                "{% if flow_run.parameters.manual %} (manual run){% endif %}.",
                "Reason: {{ (flow_run.state.message or 'no message') | truncate(1000) }}",
                "User: {{ flow_run.parameters.user_id }}",
                "State: {{ flow_run.state.name }}",
                "Scheduled for: {{ flow_run.expected_start_time }}",
                run_link(ui_url),
            ]
        ),
    )


def late_rule(settings: Settings, ui_url: str | None) -> Rule:
    minutes = f"{settings.late_alert_minutes:g}"
    return Rule(
        LATE_NAME,
        f"Alerts when a {DIGEST_FLOW} run has been Late (due, not started) for {minutes} min (LATE_ALERT_MINUTES).",
        EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": DIGEST_FLOW},
            after={"prefect.flow-run.Late"},
            expect=set(STARTED_OR_DONE),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(minutes=settings.late_alert_minutes),
        ),
        subject="novel-events: " + _DEP + " Late over " + minutes + " min ({{ flow_run.name }})",
        body="\n".join(
            [
                "Digest run {{ flow_run.name }} of " + DIGEST_FLOW + "/" + _DEP + " was due at "
                "{{ flow_run.expected_start_time }} and has not started after " + minutes + " minutes.",
                "Reason: no worker picked it up (workers down, the pool or its limit full, or the pool paused); "
                f"check `prefect work-pool inspect {settings.work_pool}` and the workers.",
                "User: {{ flow_run.parameters.user_id }}",
                "State: {{ flow_run.state.name }}",
                run_link(ui_url),
            ]
        ),
    )


def pool_rule(settings: Settings, ui_url: str | None) -> Rule:
    pool, minutes = settings.work_pool, f"{settings.worker_down_alert_minutes:g}"
    link = f"Link: {ui_url.rstrip('/')}/work-pools/work-pool/{pool}" if ui_url else f"Work pool: {pool}"
    return Rule(
        POOL_NAME,
        f"Alerts when the work pool '{pool}' has had no healthy worker for {minutes} min.",
        EventTrigger(
            match={"prefect.resource.id": "prefect.work-pool.*", "prefect.resource.name": pool},
            match_related={},
            after={"prefect.work-pool.not-ready"},
            expect={"prefect.work-pool.ready", "prefect.work-pool.paused"},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(minutes=settings.worker_down_alert_minutes),
        ),
        subject=f"novel-events: work pool '{pool}' has no healthy worker",
        body="\n".join(
            [
                f"No worker has been healthy on the work pool '{pool}' for {minutes} minutes: "
                "digests are not starting.",
                f"Reason: every worker stopped sending heartbeats. Start one: prefect worker start --pool {pool}",
                "User: all users on this pool",
                "State: not ready since {{ event.occurred }}",
                link,
            ]
        ),
    )


def maintenance_rule(ui_url: str | None) -> Rule:
    return Rule(
        MAINTENANCE_NAME,
        f"Alerts when the {MAINTENANCE_FLOW} run (reconcile, crash recovery, user notices) fails.",
        _flow_runs(MAINTENANCE_FLOW, FAILURE_EVENTS),
        subject="novel-events: maintenance {{ flow_run.state.name }} ({{ flow_run.name }})",
        body="\n".join(
            [
                "Maintenance run {{ flow_run.name }} of " + MAINTENANCE_FLOW + " ended {{ flow_run.state.name }}: "
                "users and deployments may be out of step, stuck sends are not re-run, users are not told.",
                "Reason: {{ (flow_run.state.message or 'no message') | truncate(1000) }}",
                "User: (all)",
                "State: {{ flow_run.state.name }}",
                run_link(ui_url),
            ]
        ),
    )


def failing_rule(ui_url: str | None) -> Rule:
    return Rule(
        FAILING_NAME,
        f"Alerts once when a user's last {FAILING_SLOTS} scheduled digests all failed (event {FAILING_EVENT}).",
        _user_event(FAILING_EVENT),
        subject=f"novel-events: user {_USER_FROM_EVENT} failed {FAILING_SLOTS} slots in a row",
        body="\n".join(
            [
                f"The digest of user {_USER_FROM_EVENT} failed on {FAILING_SLOTS} consecutive scheduled slots "
                "({{ event.payload.get('slots', []) | join(', ') }}). The user has been emailed what broke.",
                "Reason: {{ event.payload.get('reason') or 'see the runs' }}",
                f"User: {_USER_FROM_EVENT}",
                "State: Failed",
                run_link(ui_url, "{{ event.payload.get('flow_run_id', '') }}"),
            ]
        ),
    )


def missed_rule(ui_url: str | None) -> Rule:
    return Rule(
        MISSED_NAME,
        f"Alerts once per slot whose window closed undelivered after failures (event {MISSED_EVENT}).",
        _user_event(MISSED_EVENT),
        subject=f"novel-events: user {_USER_FROM_EVENT} missed the digest of {{{{ event.payload.get('slot', '?') }}}}",
        body="\n".join(
            [
                f"The digest of user {_USER_FROM_EVENT} for slot {{{{ event.payload.get('slot', '?') }}}} was not "
                "delivered and its catch-up window has closed.",
                "Reason: {{ event.payload.get('reason') or 'earlier runs failed' }}",
                f"User: {_USER_FROM_EVENT}",
                "State: missed",
                run_link(ui_url, "{{ event.payload.get('flow_run_id', '') }}"),
            ]
        ),
    )


def rules(settings: Settings, ui_url: str | None) -> list[Rule]:
    return [
        failed_rule(ui_url),
        late_rule(settings, ui_url),
        pool_rule(settings, ui_url),
        maintenance_rule(ui_url),
        failing_rule(ui_url),
        missed_rule(ui_url),
    ]
