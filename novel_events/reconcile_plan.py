"""What reconcile must do, decided without Prefect: desired :class:`JobSpec`\\ s + what Prefect has -> a plan.

``tasks/reconcile.py`` reads the deployments Prefect holds into :class:`Deployed` snapshots, calls
:func:`plan`, and applies the steps. Everything that decides (create, update, pause, resume, delete,
leave alone) is here, a pure function tested table by table (tests/unit/test_reconcile_plan.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from novel_events.jobs import JobSpec

ACTIONS = ("created", "updated", "paused", "resumed", "deleted")


class Action(StrEnum):
    CREATE = "created"
    UPDATE = "updated"
    PAUSE = "paused"
    RESUME = "resumed"
    DELETE = "deleted"


@dataclass(frozen=True)
class Deployed:
    """A managed deployment as Prefect holds it, in :meth:`JobSpec.comparable` terms."""

    full_name: str  # flow/deployment
    id: str
    comparable: Mapping[str, Any]
    parameter_schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Step:
    action: Action
    name: str  # flow/deployment
    spec: JobSpec | None = None  # what to write; None for a delete
    deployed: Deployed | None = None  # what is there; None for a create
    detail: str = ""


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...] = ()
    unchanged: int = 0

    def __bool__(self) -> bool:
        return bool(self.steps)


@dataclass
class Change:
    action: str  # created | updated | paused | resumed | deleted | failed
    name: str
    detail: str = ""


@dataclass
class Report:
    """What a reconcile did (or, dry run, would do)."""

    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    dry_run: bool = False
    failed: list[Change] = field(default_factory=list)  # writes the server refused; the next sync retries

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def summary(self) -> str:
        parts = [f"{self.count(a)} {a}" for a in ACTIONS]
        verb = "would change" if self.dry_run else "changed"
        head = "nothing to do, " if not self.changes and not self.failed else ""
        tail = f", {len(self.failed)} FAILED (run sync again)" if self.failed else ""
        return f"{head}{', '.join(parts)}, {self.unchanged} unchanged ({verb} {len(self.changes)}){tail}"


def differences(spec: JobSpec, have: Deployed, schema: Mapping[str, Any] | None = None) -> list[str]:
    """The fields where Prefect's deployment differs from ``spec`` (empty: nothing to write)."""
    want, got = spec.comparable(), have.comparable
    changed = [k for k in want if want[k] != got.get(k)]
    if schema is not None and have.parameter_schema != schema:
        changed.append("parameter schema")  # the flow's signature changed: the run form/validation must follow
    return changed


def plan(
    specs: Iterable[JobSpec],
    deployed: Mapping[str, Deployed],
    schemas: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    delete_unwanted: bool = True,
) -> Plan:
    """Steps that make ``deployed`` match ``specs``: writes in spec order, then deletes by name.

    ``schemas`` maps a flow name to its parameter schema (compared when given). With
    ``delete_unwanted=False`` (reconciling one job) deployments no spec names are left alone.
    A difference in ``paused`` alone is a pause/resume (one cheap call); any other is an update.
    """
    steps: list[Step] = []
    unchanged = 0
    wanted: set[str] = set()
    for spec in specs:
        if spec.full_name in wanted:
            raise ValueError(f"two job specs named {spec.full_name}")
        wanted.add(spec.full_name)
        have = deployed.get(spec.full_name)
        if have is None:
            steps.append(Step(Action.CREATE, spec.full_name, spec, None, spec.cron or ""))
            continue
        changed = differences(spec, have, (schemas or {}).get(spec.flow_name))
        if not changed:
            unchanged += 1
        elif changed == ["paused"]:
            steps.append(Step(Action.PAUSE if spec.paused else Action.RESUME, spec.full_name, spec, have))
        else:
            steps.append(Step(Action.UPDATE, spec.full_name, spec, have, ", ".join(changed)))
    if delete_unwanted:
        steps += [Step(Action.DELETE, name, None, d) for name, d in sorted(deployed.items()) if name not in wanted]
    return Plan(tuple(steps), unchanged)
