"""A scenario's outcome as one row, the issue's targets as a pure verdict, and the printed table.

Target (issue 14): 0 digests lost inside the catch-up window and 0 extra copies, except a send whose
outcome could not be known (the relay stored it but the sender never read the reply): at most one extra
copy, with the same Message-ID. Delivered within 5 minutes of the fault ending.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

TABLE = pytest.StashKey[str]()  # the printed table, for the session's terminal summary (conftest)


@dataclass
class Copy:
    message_id: str
    at: float
    acknowledged: bool  # the sender read the relay's reply (False: outcome unknown to it)


@dataclass
class Row:
    key: str
    fault: str
    expected: list[str]  # users due in the scenario (one slot each)
    copies: dict[str, list[Copy]] = field(default_factory=dict)  # user -> what the relay accepted
    runs: dict[str, int] = field(default_factory=dict)  # final (or last) state name -> digest runs
    ledger: dict[str, str] = field(default_factory=dict)  # user -> ledger status (detail)
    messages: list[str] = field(default_factory=list)  # distinct state messages of runs not Completed
    in_flight: int = 0  # due runs not yet final when the observation stopped
    fault_end: float = 0.0  # time.time() the fault ended (the slot, for scenarios without an end)
    fault_end_label: str = "fault ended"
    error: str = ""  # the harness itself failed: the row says so and fails

    # -- derived ---------------------------------------------------------------------------------------

    def delivered(self) -> list[str]:
        return [u for u in self.expected if self.copies.get(u)]

    def lost(self) -> list[str]:
        return [u for u in self.expected if not self.copies.get(u)]

    def recovery_seconds(self) -> float | None:
        """When the last expected digest first reached the relay, after the fault ended (0 if before)."""
        if self.lost() or not self.expected:
            return None
        last = max(min(c.at for c in self.copies[u]) for u in self.expected)
        return max(0.0, last - self.fault_end)

    def problems(self, recovery_target: float) -> list[str]:
        """Why this row misses the issue's targets (empty: it meets them)."""
        if self.error:
            return [f"harness error: {self.error}"]
        out: list[str] = []
        lost = self.lost()
        if lost:
            shown = ", ".join(f"{u} [ledger: {self.ledger.get(u, 'no row')}]" for u in lost[:4])
            more = " …" if len(lost) > 4 else ""
            out.append(f"{len(lost)}/{len(self.expected)} digests not delivered: {shown}{more}")
            if self.in_flight:
                out.append(
                    f"{self.in_flight} run(s) still not final when the observation ended (slow machine, or runs stuck)"
                )
        extra: dict[str, list[str]] = {}
        for user, copies in sorted(self.copies.items()):
            ids = {c.message_id for c in copies}
            unknown = sum(1 for c in copies if not c.acknowledged)
            allowed = 1 + (1 if unknown else 0)
            if len(copies) > allowed:
                extra.setdefault(
                    f"{len(copies)} copies (allowed {allowed}; {unknown} with an outcome the sender could not know)", []
                ).append(user)
            if len(ids) > 1:
                extra.setdefault(f"{len(ids)} different Message-IDs for one slot", []).append(user)
        for what, users in extra.items():
            who = ", ".join(users[:3]) + (" …" if len(users) > 3 else "")
            out.append(f"{what}: {who}" if len(users) == 1 else f"{len(users)} users, each {what}: {who}")
        seconds = self.recovery_seconds()
        if seconds is not None and seconds > recovery_target:
            out.append(f"recovered {seconds:.0f}s after the {self.fault_end_label} (target ≤ {recovery_target:.0f}s)")
        if out and self.messages:
            out.append("run states said: " + " | ".join(self.messages[:3]))
        return out

    def cells(self) -> list[str]:
        if self.error:
            return [self.fault, "harness error", "–", "–", "–"]
        mails = sum(len(c) for c in self.copies.values())
        got = self.delivered()
        per_user = Counter(len(self.copies[u]) for u in got)
        ids = max((len({c.message_id for c in self.copies[u]}) for u in got), default=0)
        copies = (
            f"{mails} mails to {len(got)} users; per user "
            + ", ".join(f"{n}×{k}" for k, n in sorted(per_user.items()))
            + f"; ≤{ids} Message-ID"
        )
        if not got:
            copies = "–"
        runs = ", ".join(f"{n} {s}" for s, n in sorted(self.runs.items(), key=lambda x: -x[1]))
        seconds = self.recovery_seconds()
        recovery = "not recovered" if seconds is None else f"{seconds:.0f} s after the {self.fault_end_label}"
        return [self.fault, f"{len(got)}/{len(self.expected)}", copies, runs or "–", recovery]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Row:
        data = json.loads(text)
        data["copies"] = {u: [Copy(**c) for c in cs] for u, cs in data.get("copies", {}).items()}
        return cls(**data)


HEADER = ["fault", "digests delivered/expected", "copies", "runs (final state)", "time to recovery", "verdict"]


def markdown(rows: list[Row], recovery_target: float) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        cells = row.cells()[:5]
        verdict = "ok" if not row.problems(recovery_target) else "**FAIL**"
        lines.append("| " + " | ".join(c.replace("|", "/") for c in [*cells, verdict]) + " |")
    return "\n".join(lines)


def failures(rows: list[Row], recovery_target: float) -> str:
    out = []
    for row in rows:
        problems = row.problems(recovery_target)
        if problems:
            out.append(
                f"- **{row.key}** ({row.fault}):\n" + "\n".join(f"  - {' '.join(p.split())[:400]}" for p in problems)
            )
    return "\n".join(out)


def write_doc(
    path: Path, rows: list[Row], recovery_target: float, machine: str, wall_seconds: float | None, note: str = ""
) -> str:
    table = markdown(rows, recovery_target)
    why = failures(rows, recovery_target) or "Every row meets the targets."
    wall = (
        f"Whole suite: {wall_seconds / 60:.1f} min ({len(rows)} scenarios, several at a time)."
        if wall_seconds is not None
        else "Scenarios run one by one (`python -m tests.faults.scenarios KEY DIR`)."
    )
    text = f"""# Fault suite

`make faults` (also part of `make test`) injects each fault of issue 14 into a real stack — Prefect
server, process workers, the store on PostgreSQL, an SMTP relay, an iCal feed server, TCP proxies we can
cut — with users due in the same minute, maintenance (reconcile + recovery sweep) every minute, and prints
this table (`tests/faults/`, settings and scale in `tests/faults/knobs.py`).

Targets: 0 digests lost inside the catch-up window, 0 extra copies — except a send whose outcome the sender
could not know (the relay stored it but the reply never reached the sender): at most one extra copy, same
Message-ID — and every digest delivered within {recovery_target / 60:.0f} minutes of the fault ending.
"Copies" counts what the relay accepted per user; "time to recovery" is from the end of the fault (or the
slot, for faults without an end) to the last user's first copy.

Machine: {machine}. {wall}{note and chr(10) + chr(10) + note}

{table}

## Rows that miss the targets

{why}
"""
    path.write_text(text)
    return text
