"""The reconcile decisions, table by table: desired specs + what Prefect has -> steps (no Prefect)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from novel_events.jobs import JobSpec, desired, digest_spec, maintenance_spec
from novel_events.models import User
from novel_events.reconcile_plan import Action, Change, Deployed, Report, differences, plan
from novel_events.schedules import Schedule

POOL = "novel-events"


def user(uid: str, *, at: str = "07:30", tz: str = "Europe/Berlin", enabled: bool = True) -> User:
    return User(
        id=uid,
        email=f"{uid}@example.org",
        schedule=Schedule.parse("daily", at, tz, None),
        source="google",
        enabled=enabled,
    )


def there(spec: JobSpec, schema: dict[str, Any] | None = None, **changed: Any) -> Deployed:
    """What Prefect would hold after writing ``spec``, with ``changed`` fields drifted."""
    return Deployed(spec.full_name, f"id-{spec.name}", {**spec.comparable(), **changed}, schema)


A, B, C = (digest_spec(user(u), POOL) for u in ("ann", "bob", "cy"))
A_PAUSED = digest_spec(user("ann", enabled=False), POOL)
A_LATER = digest_spec(user("ann", at="09:00"), POOL)
A_ELSEWHERE = digest_spec(user("ann", tz="Asia/Tokyo"), POOL)
SCHEMA = {"properties": {"user_id": {"type": "string"}}}


def kinds(steps: Any) -> list[tuple[str, str, str]]:
    return [(s.action.value, s.name, s.detail) for s in steps]


CASES = [
    # (id, specs, deployed, expected steps, unchanged)
    ("nothing anywhere", [], [], [], 0),
    ("all new", [A, B], [], [("created", A.full_name, "30 7 * * *"), ("created", B.full_name, "30 7 * * *")], 0),
    ("all in step: no writes", [A, B], [there(A), there(B)], [], 2),
    ("one user changed time", [A_LATER, B], [there(A), there(B)], [("updated", A.full_name, "cron, description")], 1),
    ("one user moved zone", [A_ELSEWHERE], [there(A)], [("updated", A.full_name, "timezone, description")], 0),
    ("disabled user: pause only", [A_PAUSED], [there(A)], [("paused", A.full_name, "")], 0),
    ("re-enabled user: resume only", [A], [there(A_PAUSED)], [("resumed", A.full_name, "")], 0),
    (
        "paused and retimed: one update",
        [dataclasses.replace(A_LATER, paused=True)],
        [there(A)],
        [("updated", A.full_name, "cron, paused, description")],
        0,
    ),
    ("removed user deleted", [A], [there(A), there(B)], [("deleted", B.full_name, "")], 1),
    (
        "deletes sorted by name, after writes",
        [C],
        [there(B), there(A)],
        [("created", C.full_name, "30 7 * * *"), ("deleted", A.full_name, ""), ("deleted", B.full_name, "")],
        0,
    ),
    ("hand-edited tags restored", [A], [there(A, tags=["novel-events"])], [("updated", A.full_name, "tags")], 0),
    ("someone added a schedule", [A], [there(A, cron="<other schedules>")], [("updated", A.full_name, "cron")], 0),
    ("pool moved", [dataclasses.replace(A, work_pool="other")], [there(A)], [("updated", A.full_name, "work_pool")], 0),
]


@pytest.mark.parametrize(
    ("specs", "deployed", "expected", "unchanged"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_plan(
    specs: list[JobSpec], deployed: list[Deployed], expected: list[tuple[str, str, str]], unchanged: int
) -> None:
    result = plan(specs, {d.full_name: d for d in deployed})
    assert kinds(result.steps) == expected
    assert result.unchanged == unchanged
    assert bool(result) == bool(expected)


def test_steps_carry_what_apply_needs() -> None:
    result = plan(
        [A_LATER, dataclasses.replace(B, paused=True)],
        {A.full_name: there(A), B.full_name: there(B), C.full_name: there(C)},
    )
    update, pause, delete = result.steps
    assert update.spec == A_LATER and update.deployed is not None and update.deployed.id == "id-user-ann"
    assert pause.action is Action.PAUSE and pause.deployed is not None and pause.deployed.id == "id-user-bob"
    assert delete.action is Action.DELETE and delete.spec is None and delete.deployed is not None
    assert delete.deployed.id == "id-user-cy"


@pytest.mark.parametrize(
    ("have_schema", "given", "expected"),
    [
        (SCHEMA, SCHEMA, []),
        (None, SCHEMA, ["parameter schema"]),
        ({"properties": {}}, SCHEMA, ["parameter schema"]),
        ({"properties": {}}, None, []),  # no schema given: not compared
    ],
)
def test_parameter_schema_compared_when_given(
    have_schema: dict[str, Any] | None, given: dict[str, Any] | None, expected: list[str]
) -> None:
    assert differences(A, there(A, schema=have_schema), given) == expected
    result = plan([A], {A.full_name: there(A, schema=have_schema)}, {A.flow_name: given} if given is not None else None)
    assert kinds(result.steps) == ([("updated", A.full_name, "parameter schema")] if expected else [])


def test_single_job_leaves_the_others_alone() -> None:
    deployed = {d.full_name: d for d in (there(A), there(B), there(C))}
    only_ann = plan([A_LATER], deployed, delete_unwanted=False)
    assert kinds(only_ann.steps) == [("updated", A.full_name, "cron, description")]
    assert plan([A], deployed, delete_unwanted=False).unchanged == 1
    assert kinds(plan([], deployed, delete_unwanted=False).steps) == []


def test_duplicate_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="two job specs"):
        plan([A, A_LATER], {})


def test_full_desired_state_with_maintenance_job() -> None:
    users = [user("ann"), user("bob", enabled=False)]
    specs = desired(users, POOL, maintenance_every_minutes=5, recovery_every_minutes=1)
    first = plan(specs, {})
    assert [s.action for s in first.steps] == [Action.CREATE] * 4
    assert (first.steps[0].name, first.steps[0].detail) == ("novel-events-reconcile/maintenance", "*/5 * * * *")
    assert (first.steps[1].name, first.steps[1].detail) == ("novel-events-reconcile/recovery", "* * * * *")
    applied = {s.full_name: there(s) for s in specs}
    assert not plan(specs, applied) and plan(specs, applied).unchanged == 4
    unscheduled = plan(desired(users, POOL, maintenance_every_minutes=0, recovery_every_minutes=1), applied)
    assert kinds(unscheduled.steps) == [("updated", maintenance_spec(POOL, 0).full_name, "cron, timezone")]


def test_report_summary() -> None:
    report = Report([Change("created", "f/a"), Change("deleted", "f/b")], unchanged=3)
    assert report.summary() == "1 created, 0 updated, 0 paused, 0 resumed, 1 deleted, 3 unchanged (changed 2)"
    assert Report(dry_run=True).summary().startswith("nothing to do, ")
    failed = Report(failed=[Change("failed", "f/a", "created: HTTPStatusError")])
    assert failed.summary().endswith("1 FAILED (run sync again)")
