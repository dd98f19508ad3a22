"""The fleet at a glance (``novel-events status`` without ``--user``): success rates, lateness and duration
percentiles, users needing attention. Pure: the Prefect layer gathers the facts."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

WINDOWS = (("7d", dt.timedelta(days=7)), ("30d", dt.timedelta(days=30)))


@dataclass(frozen=True, slots=True)
class RunFact:
    """One finished digest run."""

    user_id: str
    expected: dt.datetime  # scheduled (or created, for manual runs) time
    state: str  # COMPLETED / FAILED / CRASHED / CANCELLED (the state type)
    manual: bool = False
    lateness: float | None = None  # seconds; scheduled runs that started
    duration: float | None = None  # seconds; runs that started


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _window(facts: list[RunFact], since: dt.datetime) -> dict[str, Any]:
    inside = [f for f in facts if f.expected >= since]
    decided = [f for f in inside if f.state in {"COMPLETED", "FAILED", "CRASHED"}]  # a collision is no verdict
    ok = sum(1 for f in decided if f.state == "COMPLETED")
    late = [f.lateness for f in inside if f.lateness is not None and not f.manual]
    took = [f.duration for f in inside if f.duration is not None]
    return {
        "runs": len(inside),
        "succeeded": ok,
        "failed": len(decided) - ok,
        "cancelled": sum(1 for f in inside if f.state == "CANCELLED"),
        "successRate": round(ok / len(decided), 4) if decided else None,
        "latenessSeconds": {"p50": percentile(late, 50), "p95": percentile(late, 95)},
        "durationSeconds": {"p50": percentile(took, 50), "p95": percentile(took, 95)},
    }


def fleet_summary(
    facts: Iterable[RunFact], now: dt.datetime, attention: dict[str, list[str]], *, truncated: bool = False
) -> dict[str, Any]:
    """``attention``: user id -> reasons (reconnect, failing streak, last run failed)."""
    listed = list(facts)
    return {
        "generatedAt": now.isoformat(),
        "windows": {name: _window(listed, now - span) for name, span in WINDOWS},
        "attention": [{"user": uid, "reasons": reasons} for uid, reasons in sorted(attention.items())],
        "truncated": truncated,
    }


def _secs(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}s" if value < 120 else f"{value / 60:.1f}min"


def fleet_text(summary: dict[str, Any]) -> list[str]:
    """The summary as lines for a terminal."""
    lines = [
        f"{'WINDOW':<7} {'RUNS':>6} {'OK':>6} {'FAILED':>6} {'SUCCESS':>8} {'LATE p50':>9} {'LATE p95':>9} "
        f"{'TOOK p50':>9} {'TOOK p95':>9}"
    ]
    for name, w in summary["windows"].items():
        rate = f"{w['successRate'] * 100:.1f}%" if w["successRate"] is not None else "-"
        lines.append(
            f"{name:<7} {w['runs']:>6} {w['succeeded']:>6} {w['failed']:>6} {rate:>8} "
            f"{_secs(w['latenessSeconds']['p50']):>9} {_secs(w['latenessSeconds']['p95']):>9} "
            f"{_secs(w['durationSeconds']['p50']):>9} {_secs(w['durationSeconds']['p95']):>9}"
        )
    if summary.get("truncated"):
        lines.append("(only the newest runs were read; numbers cover those)")
    lines.append("")
    if not summary["attention"]:
        lines.append("users needing attention: none")
    else:
        lines.append(f"users needing attention ({len(summary['attention'])}):")
        lines += [f"  {a['user']:<20} {'; '.join(a['reasons'])}" for a in summary["attention"]]
    return lines
