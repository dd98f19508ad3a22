"""Fleet summary and run summaries: pure, table-driven."""

from __future__ import annotations

import datetime as dt

import pytest

from novel_events.fleet import RunFact, fleet_summary, fleet_text, percentile
from novel_events.outcome import DigestOutcome, Result
from novel_events.runsummary import outcome_label, summary_markdown, summary_of

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("values", "q", "want"),
    [
        ([], 50, None),
        ([3.0], 95, 3.0),
        ([1, 2, 3, 4], 50, 2),
        ([1, 2, 3, 4], 95, 4),
        (list(range(1, 101)), 95, 95),
    ],
)
def test_percentile(values: list[float], q: float, want: float | None) -> None:
    assert percentile(values, q) == want


def test_fleet_summary_windows_and_attention() -> None:
    facts = [
        RunFact("ada", NOW - dt.timedelta(days=1), "COMPLETED", lateness=10, duration=4),
        RunFact("ada", NOW - dt.timedelta(days=2), "FAILED", lateness=20, duration=2),
        RunFact("bo", NOW - dt.timedelta(days=3), "CANCELLED"),  # a collision: no verdict
        RunFact("bo", NOW - dt.timedelta(days=3), "COMPLETED", manual=True, duration=6),  # no lateness for manual
        RunFact("bo", NOW - dt.timedelta(days=20), "CRASHED", lateness=600, duration=1),
    ]
    s = fleet_summary(facts, NOW, {"ada": ["last run Failed: boom"]})
    week, month = s["windows"]["7d"], s["windows"]["30d"]
    assert (week["runs"], week["succeeded"], week["failed"], week["cancelled"]) == (4, 2, 1, 1)
    assert week["successRate"] == round(2 / 3, 4) and month["successRate"] == 0.5
    assert week["latenessSeconds"] == {"p50": 10, "p95": 20} and month["latenessSeconds"]["p95"] == 600
    assert week["durationSeconds"]["p95"] == 6
    assert s["attention"] == [{"user": "ada", "reasons": ["last run Failed: boom"]}]
    text = "\n".join(fleet_text(s))
    assert "66.7%" in text and "50.0%" in text and "ada" in text and "last run Failed: boom" in text
    assert "users needing attention: none" in "\n".join(fleet_text(fleet_summary([], NOW, {})))


@pytest.mark.parametrize(
    ("state_type", "name", "message", "label"),
    [
        ("COMPLETED", "Completed", "user ada, slot 2026-12-02T06:30Z: sent; 3 novel events", "sent"),
        ("COMPLETED", "Completed", "user ada, slot x: nothing novel; 0 novel events; no email sent", "nothing_novel"),
        ("COMPLETED", "Completed", "user ada, slot x: missed; started 190 min after its slot", "missed"),
        ("COMPLETED", "Completed", "user ada, slot x: already sent; slot already sent", "already_sent"),
        ("COMPLETED", "Completed", None, "completed"),
        ("FAILED", "Failed", "PermanentError: x", "failed"),
        ("FAILED", "TimedOut", "timed out", "timedout"),
        ("CRASHED", "Crashed", None, "crashed"),
    ],
)
def test_outcome_label(state_type: str, name: str, message: str | None, label: str) -> None:
    assert outcome_label(state_type, name, message) == label


def test_summary_markdown_has_numbers_and_never_the_subject() -> None:
    started = NOW
    dry = DigestOutcome("ada", "manual:1", Result.DRY_RUN, 2, detail="Trip to Lisbon and 1 more")  # the subject
    s = summary_of(dry, started=started, finished=started + dt.timedelta(seconds=3), scheduled=NOW, backend="outbox")
    md = summary_markdown(s)
    assert "Lisbon" not in md and "dry run" in md and "(manual run)" in md and "3.0 s" in md
    assert s.emails_sent == 0 and s.backend is None
    sent = DigestOutcome("ada", "2026-12-02T11:58Z", Result.SENT, 3, provider_id="x")
    s = summary_of(
        sent,
        started=NOW,
        finished=NOW + dt.timedelta(seconds=1),
        backend="smtp",
        scheduled=NOW - dt.timedelta(seconds=90),
        api_calls=4,
        api_retries=1,
    )
    md = summary_markdown(s)
    assert "**sent**" in md and "1 sent, 0 failed via smtp" in md and "90.0 s" in md and "4 (1 retried)" in md
    assert s.payload()["emails_sent"] == 1 and s.payload()["lateness_seconds"] == 90
