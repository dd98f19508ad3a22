"""The digest run's summary: a small Markdown artifact (its summary in the UI) and a summary event (metrics)."""

from __future__ import annotations

import contextlib
import datetime as dt
import re

from prefect.artifacts import create_markdown_artifact
from prefect.events import emit_event
from prefect.runtime import flow_run

from novel_events.notices import user_resource
from novel_events.outcome import DigestOutcome
from novel_events.runsummary import SUMMARY_EVENT, RunSummary, summary_markdown, summary_of
from novel_events.settings import load_settings
from tasks import fetch_stats


def artifact_key(user_id: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes: ``digest-<user id>``."""
    return "digest-" + re.sub(r"[^a-z0-9-]", "-", user_id.lower())


def _scheduled() -> dt.datetime | None:
    value = flow_run.scheduled_start_time
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def publish(summary: RunSummary) -> None:
    """Create the artifact and emit the summary event (never raises: a summary must not fail a digest)."""
    run_id = str(flow_run.id) if flow_run.id else None
    with contextlib.suppress(Exception):  # best effort
        create_markdown_artifact(
            markdown=summary_markdown(summary),
            key=artifact_key(summary.user_id),
            description=f"Digest summary: {summary.result}",
        )
    related = (
        [{"prefect.resource.id": f"prefect.flow-run.{run_id}", "prefect.resource.role": "flow-run"}] if run_id else None
    )
    emit_event(event=SUMMARY_EVENT, resource=user_resource(summary.user_id), payload=summary.payload(), related=related)


def publish_digest_summary(outcome: DigestOutcome, started: dt.datetime) -> RunSummary:
    """Call once at the end of a digest run with its outcome and the time it started."""
    stats = fetch_stats.pop(outcome.user_id)
    summary = summary_of(
        outcome,
        started=started,
        finished=dt.datetime.now(dt.UTC),
        scheduled=_scheduled(),
        backend=load_settings().email_backend,
        api_calls=stats.api_calls if stats else None,
        api_retries=stats.retries if stats else None,
    )
    publish(summary)
    return summary
