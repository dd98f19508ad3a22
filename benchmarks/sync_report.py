"""The sync benchmark's output: one Markdown table per backend, then setup, findings and server log lines."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from instrument import print_table
from sync_cases import READS, Case, outcome


@dataclass
class SizeResult:
    n: int
    cases: list[Case]
    setup: dict[str, float]
    findings: list[str]
    server_log: list[str]


LOG_LEVEL_LINE = re.compile(r"^\S+ \| (ERROR|WARNING|CRITICAL)\s*\| (.*)$")
EXC_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Za-z_]\w*(?:Error|Exception|Timeout)\b")


def server_problems(log: Path) -> list[str]:
    """Warnings/errors in the server log: log headlines, exception lines and failing SQL, with counts."""
    seen: dict[str, int] = {}
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    for raw in lines:
        line = raw.strip()
        m = LOG_LEVEL_LINE.match(line)
        if m:
            key = f"{m.group(1)} {m.group(2)[:150]}"
        elif EXC_LINE.match(line):
            key = line[:150]
        elif line.startswith("[SQL: "):
            key = line[:60] + " …]"
        else:
            continue
        seen[key] = seen.get(key, 0) + 1
    return [f"{count}x {line}" for line, count in sorted(seen.items(), key=lambda kv: -kv[1])[:10]]


COLUMNS = (
    "users:",
    "case",
    "total s:",
    "ms/user:",
    "written:",
    "result",
    "store read s:",
    "API reads n / s:",
    "upserts n:",
    "upsert ms median / max:",
    "client retries:",
    "client CPU s:",
    "server CPU s:",
    "server busy after s:",
)


def table(backend: str, results: list[SizeResult], variant: str) -> None:
    print()
    print(f"### Prefect server on {backend}{variant}")
    print()
    rows = []
    for r in results:
        groups: dict[str, list[Case]] = {}
        for c in r.cases:
            groups.setdefault(c.label, []).append(c)
        for label, group in groups.items():
            c = sorted(group, key=lambda x: x.seconds)[len(group) // 2]  # the median run
            shown = label if len(group) == 1 else f"{label} (median of {len(group)})"
            reads_n, reads_s = c.total(READS)
            _, store_s = c.total(("store.list",))
            ups = c.calls.get("create_deployment", [])
            wstat = f"{1000 * statistics.median(ups):.0f} / {1000 * max(ups):.0f}" if ups else "–"
            rows.append(
                (
                    f"{r.n:,}",
                    shown,
                    f"{c.seconds:.2f}",
                    f"{1000 * c.seconds / r.n:.1f}",
                    c.written,
                    outcome(c),
                    f"{store_s:.2f}",
                    f"{reads_n} / {reads_s:.2f}",
                    len(ups),
                    wstat,
                    len(c.retries),
                    f"{c.client_cpu:.1f}",
                    f"{c.server_cpu:.1f}",
                    f"{c.busy_after or 0:.0f}",
                )
            )
    print_table(COLUMNS, rows)
    print()
    for r in results:
        setup = ", ".join(f"{k} {v:.1f}" for k, v in r.setup.items())
        first = next((c for c in r.cases if c.case == "first"), None)
        ups = first.calls.get("create_deployment", []) if first else []
        slow = sorted(ups, reverse=True)[:3]
        extra = f"; first sync's slowest upserts {', '.join(f'{v:.2f}s' for v in slow)}" if slow else ""
        print(f"- N={r.n:,} setup: {setup}{extra}")
    notes = [f for r in results for f in r.findings]
    warns = sorted({w for r in results for c in r.cases for w in c.warnings})
    logs = [f"N={r.n}: {line}" for r in results for line in r.server_log]
    for title, items in (("findings", notes), ("client warnings", warns), ("server log", logs)):
        if items:
            print(f"- {title}:")
            for item in items[:20]:
                print(f"  - {item}")
        else:
            print(f"- {title}: none")
