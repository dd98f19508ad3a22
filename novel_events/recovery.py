"""What the recovery sweep should do about scheduled slots that have no digest yet. Pure: no I/O.

Inputs are plain views of the digest runs of recent slots (every state but Completed, plus the runs
that hold a ledger claim) and the ledger rows of those slots. For each (user, slot):

- delivered or finally settled in the ledger (sent, empty, missed, permanent failure): nothing;
- a run still scheduled, late or running: nothing (the zombie automation crashes runs that stop
  beating); a run *Pending* longer than ``pending_timeout`` lost its worker while starting, one
  *Running* past the flow's timeout died before its first heartbeat: crash it (frees its lease);
- a run that completed with "sent" while the ledger still says ``sending`` (the store was down when
  it recorded): record the send, never send again;
- otherwise every run of the slot ended without a digest (failed transiently, crashed before or after
  its claim, cancelled by the server on a collision or a lost concurrency slot): re-run the slot after a
  backoff that doubles per attempt, with a claim held by a dead run released as *unknown* (so it is
  re-sent at most once, same Message-ID);
- when the catch-up window has closed: record ``missed`` (and alert), once.
A permanent failure and a run an operator cancelled are respected: never re-run.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from novel_events.outcome import is_in_progress_message, is_permanent_message, is_sent_message
from novel_events.slots import slot_time
from novel_events.store.ledger import FINAL, Delivery, Status

ACTIVE = frozenset({"SCHEDULED", "PENDING", "RUNNING", "CANCELLING", "PAUSED"})
TERMINAL = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
# Cancels the server makes, not an operator: a collision on the user's deployment limit, or a slot whose
# lease expired while the server was away and that another run took meanwhile. Both are re-run.
SERVER_CANCELS = ("concurrency limit", "concurrency slot lost")


@dataclass(frozen=True, slots=True)
class RunView:
    id: str
    user_id: str
    slot: str
    state: str  # Prefect StateType name
    message: str
    entered: dt.datetime  # when it entered that state
    deployment_id: str | None = None


class Action(StrEnum):
    RERUN = "re-run"
    MISSED = "missed"
    RECORD_SENT = "record sent"
    CRASH_PENDING = "crash pending"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    user_id: str
    slot: str
    reason: str
    attempt: int = 0  # for RERUN: the number of the run to create (2 = first retry)
    run_id: str | None = None  # CRASH_PENDING: the run; RERUN: a dead run whose claim is released
    deployment_id: str | None = None

    @property
    def idempotency_key(self) -> str:
        return f"retry:{self.user_id}:{self.slot}:{self.attempt}"


@dataclass(frozen=True, slots=True)
class Policy:
    window: dt.timedelta
    backoff: dt.timedelta = dt.timedelta(seconds=60)
    backoff_max: dt.timedelta = dt.timedelta(minutes=5)
    pending_timeout: dt.timedelta = dt.timedelta(minutes=3)
    # Running longer than the digest flow's own timeout (30 min): its process died before any heartbeat
    running_timeout: dt.timedelta = dt.timedelta(minutes=35)

    def wait_after(self, attempts: int) -> dt.timedelta:
        """Backoff before attempt ``attempts + 1``: backoff, 2x, 4x ... capped."""
        factor = 2 ** max(0, min(attempts - 1, 16))
        return min(self.backoff * factor, self.backoff_max)


def plan(
    runs: Iterable[RunView], ledger: Mapping[tuple[str, str], Delivery], now: dt.datetime, policy: Policy
) -> list[Decision]:
    groups: dict[tuple[str, str], list[RunView]] = defaultdict(list)
    for run in runs:
        if slot_time(run.slot) is not None:
            groups[(run.user_id, run.slot)].append(run)
    decisions: list[Decision] = []
    for key, group in sorted(groups.items()):
        decisions.extend(_decide(key, sorted(group, key=lambda r: r.entered), ledger.get(key), now, policy))
    return decisions


def _decide(
    key: tuple[str, str], group: list[RunView], delivery: Delivery | None, now: dt.datetime, policy: Policy
) -> list[Decision]:
    user_id, slot = key
    if delivery is not None and (delivery.status in FINAL or delivery.exhausted()):
        return []
    out: list[Decision] = []
    dead: list[RunView] = []
    for run in group:
        if run.state == "PENDING" and now - run.entered > policy.pending_timeout:
            out.append(
                Decision(Action.CRASH_PENDING, user_id, slot, "worker lost while starting the run", run_id=run.id)
            )
            dead.append(run)
        elif run.state == "RUNNING" and now - run.entered > policy.running_timeout:
            out.append(
                Decision(
                    Action.CRASH_PENDING,
                    user_id,
                    slot,
                    "running past the flow's timeout: its process died",
                    run_id=run.id,
                )
            )
            dead.append(run)
        elif run.state in ACTIVE:
            return out  # someone is (or will be) working on it
        elif run.state == "COMPLETED":
            if is_sent_message(run.message):
                return [*out, Decision(Action.RECORD_SENT, user_id, slot, "sent; the ledger missed it", run_id=run.id)]
            if not is_in_progress_message(run.message):
                return out  # completed with an outcome the ledger holds (or a dry run): settled
            dead.append(run)  # it found the slot claimed by another run; that one may be dead
        else:
            dead.append(run)
    if not dead:
        return out
    last = dead[-1]
    if last.state == "FAILED" and is_permanent_message(last.message):
        return out
    if last.state == "CANCELLED" and not any(marker in last.message.lower() for marker in SERVER_CANCELS):
        return out  # an operator cancelled it: respect that
    at = slot_time(slot)
    assert at is not None
    collided = last.state == "CANCELLED"  # (on a collision: an operator's cancel returned above)
    reason = "cancelled on collision" if collided else (last.message or last.state.lower())
    if now - at > policy.window:
        return [*out, Decision(Action.MISSED, user_id, slot, f"not delivered within the catch-up window: {reason}")]
    if not collided and now - last.entered < policy.wait_after(len(group)):
        return out  # a collision is not a failure: its sibling has finished, re-run at once
    holder = delivery.flow_run_id if delivery is not None and delivery.status is Status.SENDING else None
    released = holder if holder in {r.id for r in dead} else None
    if delivery is not None and delivery.status is Status.SENDING and released is None:
        return out  # a live claim by a run we cannot see: wait for it to go stale
    deployment = next((r.deployment_id for r in reversed(group) if r.deployment_id), None)
    return [
        *out,
        Decision(
            Action.RERUN, user_id, slot, reason, attempt=len(group) + 1, run_id=released, deployment_id=deployment
        ),
    ]
