"""What one digest run did, in numbers: for its Markdown artifact (the run's summary in the UI) and for
metrics. Never event titles or addresses. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from novel_events.outcome import DigestOutcome, Result

SUMMARY_EVENT = "novel-events.digest.summary"
# Result values whose detail we wrote ourselves (never the digest subject, which may quote event titles)
_SAFE_DETAIL = {Result.MISSED, Result.ALREADY_SENT, Result.IN_PROGRESS, Result.NOTHING_NOVEL, Result.FAILED}


@dataclass(frozen=True, slots=True)
class RunSummary:
    user_id: str
    slot: str
    result: str  # a Result value, or a final state name for runs that did not finish
    novel_count: int
    started: dt.datetime
    finished: dt.datetime
    scheduled: dt.datetime | None = None  # None for manual runs: no lateness
    backend: str | None = None  # the mail backend that sent (or failed to send)
    emails_sent: int = 0
    emails_failed: int = 0
    api_calls: int | None = None  # Google Calendar API requests (None: not a Google fetch)
    api_retries: int | None = None
    detail: str = ""

    @property
    def duration_seconds(self) -> float:
        return max(0.0, (self.finished - self.started).total_seconds())

    @property
    def lateness_seconds(self) -> float | None:
        return None if self.scheduled is None else max(0.0, (self.started - self.scheduled).total_seconds())

    def payload(self) -> dict[str, Any]:
        """The numbers as a flat JSON object (the summary event's payload)."""
        return {
            "user_id": self.user_id,
            "slot": self.slot,
            "result": self.result,
            "novel_count": self.novel_count,
            "duration_seconds": round(self.duration_seconds, 3),
            "lateness_seconds": self.lateness_seconds,
            "backend": self.backend,
            "emails_sent": self.emails_sent,
            "emails_failed": self.emails_failed,
            "api_calls": self.api_calls,
            "api_retries": self.api_retries,
        }


def summary_of(
    outcome: DigestOutcome,
    *,
    started: dt.datetime,
    finished: dt.datetime,
    scheduled: dt.datetime | None,
    backend: str | None,
    api_calls: int | None = None,
    api_retries: int | None = None,
) -> RunSummary:
    sent = outcome.result is Result.SENT
    return RunSummary(
        user_id=outcome.user_id,
        slot=outcome.slot,
        result=outcome.result.value,
        novel_count=outcome.novel_count,
        started=started,
        finished=finished,
        scheduled=None if outcome.slot.startswith("manual:") else scheduled,
        backend=backend if sent else None,
        emails_sent=int(sent),
        api_calls=api_calls,
        api_retries=api_retries,
        detail=outcome.detail if outcome.result in _SAFE_DETAIL else "",
    )


def _secs(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def summary_markdown(s: RunSummary) -> str:
    """A small Markdown table for the run's artifact."""
    rows = [
        ("Outcome", f"**{s.result}**" + (f" — {s.detail}" if s.detail else "")),
        ("User", f"`{s.user_id}`"),
        ("Slot", f"`{s.slot}`"),
        ("Novel events", str(s.novel_count)),
        ("Emails", f"{s.emails_sent} sent, {s.emails_failed} failed" + (f" via {s.backend}" if s.backend else "")),
        ("Started late by", _secs(s.lateness_seconds) if s.scheduled else "– (manual run)"),
        ("Duration", _secs(s.duration_seconds)),
        (
            "Google API calls",
            "– (not Google)" if s.api_calls is None else f"{s.api_calls} ({s.api_retries or 0} retried)",
        ),
    ]
    lines = [f"### Digest for {s.user_id}", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v.replace('|', '/')} |" for k, v in rows]
    return "\n".join(lines) + "\n"


def outcome_label(state_type: str | None, state_name: str | None, message: str | None) -> str:
    """The outcome of a finished digest run as one metric label: a Result value for completed runs
    (``sent``, ``nothing novel`` …, read from the final state's message), else the state's name."""
    if (state_type or "").upper() == "COMPLETED":
        text = (message or "").partition(": ")[2] or (message or "")
        head = text.split(";", 1)[0].strip()
        for r in Result:
            if head == r.value:
                return r.value.replace(" ", "_")
        return "completed"
    return (state_name or state_type or "unknown").lower().replace(" ", "_")
