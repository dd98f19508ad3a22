"""The recovery sweep's plan: what happens to a slot whose runs ended without a digest. Table-driven."""

from __future__ import annotations

import datetime as dt

import pytest

from novel_events.outcome import DigestOutcome, Result, failure_message
from novel_events.recovery import Action, Policy, RunView, plan
from novel_events.store import Delivery, Status

SLOT = "2026-12-02T07:00Z"
AT = dt.datetime(2026, 12, 2, 7, 0, tzinfo=dt.UTC)
POLICY = Policy(
    window=dt.timedelta(hours=2),
    backoff=dt.timedelta(minutes=1),
    backoff_max=dt.timedelta(minutes=5),
    pending_timeout=dt.timedelta(minutes=3),
)
TRANSIENT = f"user ada, slot {SLOT}: " + failure_message(ConnectionError("relay down"), permanent=False)
PERMANENT = f"user ada, slot {SLOT}: " + failure_message(ValueError("400 bad request"), permanent=True)
SENT = DigestOutcome("ada", SLOT, Result.SENT, 2).message
IN_PROGRESS = DigestOutcome("ada", SLOT, Result.IN_PROGRESS, detail="another run holds this slot").message


def run(rid: str, state: str, minutes: float, message: str = "") -> RunView:
    return RunView(
        id=rid,
        user_id="ada",
        slot=SLOT,
        state=state,
        message=message,
        entered=AT + dt.timedelta(minutes=minutes),
        deployment_id="dep",
    )


def row(status: Status, holder: str = "r1", ambiguous: int = 0) -> Delivery:
    return Delivery("ada", SLOT, status, holder, "<m>", None, None, None, AT, AT, attempts=1, ambiguous=ambiguous)


@pytest.mark.parametrize(
    ("runs", "ledger", "now_min", "expect"),
    [
        # a crash before the claim (fetching): no ledger row -> re-run once the backoff passed
        ([run("r1", "CRASHED", 1)], None, 2.5, [(Action.RERUN, 2, None)]),
        ([run("r1", "CRASHED", 1)], None, 1.5, []),  # backoff not over yet
        # a transient failure (mail down): retried, backoff doubling with the attempts
        ([run("r1", "FAILED", 1, TRANSIENT)], row(Status.RETRY), 2.1, [(Action.RERUN, 2, None)]),
        ([run("r1", "FAILED", 1, TRANSIENT), run("r2", "FAILED", 3, TRANSIENT)], row(Status.RETRY), 4.5, []),
        (
            [run("r1", "FAILED", 1, TRANSIENT), run("r2", "FAILED", 3, TRANSIENT)],
            row(Status.RETRY),
            5.1,
            [(Action.RERUN, 3, None)],
        ),
        # permanent failures and delivered slots are left alone
        ([run("r1", "FAILED", 1, PERMANENT)], None, 30, []),
        ([run("r1", "FAILED", 1, TRANSIENT)], row(Status.SENT), 30, []),
        ([run("r1", "FAILED", 1, TRANSIENT)], row(Status.FAILED), 30, []),
        # a run that died mid-send: its claim is released (unknown) and the slot re-sent once
        ([run("r1", "CRASHED", 1)], row(Status.SENDING, holder="r1"), 3, [(Action.RERUN, 2, "r1")]),
        ([run("r1", "CRASHED", 1)], row(Status.UNKNOWN, ambiguous=1), 30, []),  # already re-sent once
        # a live claim by a run we cannot see: wait for it
        ([run("r1", "CRASHED", 1)], row(Status.SENDING, holder="other"), 3, []),
        # something still queued or running: wait
        ([run("r1", "CRASHED", 1), run("r2", "SCHEDULED", 2)], None, 10, []),
        ([run("r1", "RUNNING", 1)], row(Status.SENDING), 10, []),
        # Pending for longer than pending_timeout: its worker died while starting it
        ([run("r1", "PENDING", 1)], None, 5, [(Action.CRASH_PENDING, 0, "r1"), (Action.RERUN, 2, None)]),
        ([run("r1", "PENDING", 1)], None, 3, []),
        ([run("r1", "RUNNING", 1)], None, 40, [(Action.CRASH_PENDING, 0, "r1"), (Action.RERUN, 2, None)]),
        # completed as sent while the store was away: record it, never send again
        ([run("r1", "COMPLETED", 1, SENT)], row(Status.SENDING, holder="r1"), 5, [(Action.RECORD_SENT, 0, "r1")]),
        # a collision cancel is retried; an operator's cancel is respected
        ([run("r1", "CANCELLED", 0, "Deployment concurrency limit reached.")], None, 2, [(Action.RERUN, 2, None)]),
        ([run("r1", "CANCELLED", 0, "Cancelled by alice")], None, 30, []),
        # the server cancels a run whose slot lease expired while it was down: not an operator's choice, re-run
        (
            [
                run(
                    "r1",
                    "CANCELLED",
                    0,
                    "Deployment concurrency slot lost during provisioning - no slots available to continue execution",
                )
            ],
            None,
            2,
            [(Action.RERUN, 2, None)],
        ),
        # 'in progress elsewhere' while the holder crashed: re-run
        (
            [run("r1", "CRASHED", 1), run("r2", "COMPLETED", 1.5, IN_PROGRESS)],
            row(Status.SENDING, holder="r1"),
            5,
            [(Action.RERUN, 3, "r1")],
        ),
        # the window closed first: missed, once
        ([run("r1", "FAILED", 100, TRANSIENT)], row(Status.RETRY), 125, [(Action.MISSED, 0, None)]),
        ([run("r1", "FAILED", 100, TRANSIENT)], row(Status.MISSED), 125, []),
    ],
)
def test_plan(
    runs: list[RunView], ledger: Delivery | None, now_min: float, expect: list[tuple[Action, int, str | None]]
) -> None:
    rows = {("ada", SLOT): ledger} if ledger else {}
    decisions = plan(runs, rows, AT + dt.timedelta(minutes=now_min), POLICY)
    assert [(d.action, d.attempt, d.run_id) for d in decisions] == expect


def test_manual_slots_are_never_re_run() -> None:
    manual = RunView(id="m", user_id="ada", slot="manual:m", state="CRASHED", message="", entered=AT)
    assert plan([manual], {}, AT + dt.timedelta(hours=1), POLICY) == []


def test_each_attempt_has_its_own_idempotency_key() -> None:
    one = plan([run("r1", "CRASHED", 1)], {}, AT + dt.timedelta(minutes=5), POLICY)
    two = plan([run("r1", "CRASHED", 1), run("r2", "CRASHED", 6)], {}, AT + dt.timedelta(minutes=10), POLICY)
    assert one[0].idempotency_key != two[0].idempotency_key
    assert (
        one[0].idempotency_key
        == plan([run("r1", "CRASHED", 1)], {}, AT + dt.timedelta(minutes=6), POLICY)[0].idempotency_key
    )


@pytest.mark.parametrize(("attempts", "wait"), [(1, 1), (2, 2), (3, 4), (4, 5), (40, 5)])
def test_backoff_doubles_up_to_its_cap(attempts: int, wait: int) -> None:
    assert POLICY.wait_after(attempts) == dt.timedelta(minutes=wait)
