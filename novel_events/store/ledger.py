"""The delivery ledger: at most one digest per (user, slot).

A run *claims* its slot before sending (a row with a unique key), then records the outcome.

- ``sent`` / ``empty`` / ``missed``: final; any later run for the slot sends nothing.
- ``sending``: someone claimed it. If the claim is older than ``stale_after`` the sender died between
  claim and record (outcome unknown): the next run takes it over and sends again with the *same*
  deterministic Message-ID, so mail clients collapse a duplicate. A fresher claim is left alone.
- ``failed``: the send failed for sure; a later run may claim it again.
Take-overs are compare-and-set updates, so two racing runs cannot both win.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa

from novel_events.store.tables import deliveries


class Status(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    EMPTY = "empty"
    MISSED = "missed"
    FAILED = "failed"


FINAL = {Status.SENT, Status.EMPTY, Status.MISSED}


@dataclass(frozen=True, slots=True)
class Claim:
    won: bool
    status: Status  # the row's status when the claim was lost, SENDING when won
    takeover: bool = False  # won by taking over a stale or failed claim
    flow_run_id: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    user_id: str
    slot: str
    status: Status
    flow_run_id: str | None
    message_id: str | None
    provider_id: str | None
    novel_count: int | None
    detail: str | None
    claimed_at: dt.datetime
    updated_at: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Ledger:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def claim(
        self,
        user_id: str,
        slot: str,
        *,
        flow_run_id: str | None,
        message_id: str | None = None,
        stale_after: dt.timedelta = dt.timedelta(minutes=15),
        status: Status = Status.SENDING,
    ) -> Claim:
        now = _now()
        key = (deliveries.c.user_id == user_id) & (deliveries.c.slot == slot)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    deliveries.insert().values(
                        user_id=user_id, slot=slot, status=status.value, flow_run_id=flow_run_id,
                        message_id=message_id, claimed_at=now, updated_at=now,
                    )
                )
            return Claim(won=True, status=status)
        except sa.exc.IntegrityError:
            pass
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(deliveries).where(key)).mappings().first()
            if row is None:  # removed in between: try once more from scratch
                return self.claim(user_id, slot, flow_run_id=flow_run_id, message_id=message_id,
                                  stale_after=stale_after, status=status)
            current = Status(row["status"])
            stale = current is Status.SENDING and now - _aware(row["claimed_at"]) > stale_after
            if current in FINAL or (current is Status.SENDING and not stale):
                return Claim(won=False, status=current, flow_run_id=row["flow_run_id"])
            taken = conn.execute(
                deliveries.update()
                .where(key & (deliveries.c.status == row["status"]) & (deliveries.c.claimed_at == row["claimed_at"]))
                .values(status=status.value, flow_run_id=flow_run_id, claimed_at=now, updated_at=now,
                        message_id=message_id or row["message_id"])
            ).rowcount
        if taken != 1:
            return Claim(won=False, status=Status.SENDING)
        return Claim(won=True, status=status, takeover=True)

    def record(
        self,
        user_id: str,
        slot: str,
        status: Status,
        *,
        provider_id: str | None = None,
        novel_count: int | None = None,
        detail: str | None = None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                deliveries.update()
                .where((deliveries.c.user_id == user_id) & (deliveries.c.slot == slot))
                .values(status=status.value, provider_id=provider_id, novel_count=novel_count,
                        detail=(detail or None) and detail[:500], updated_at=_now())
            )

    def get(self, user_id: str, slot: str) -> Delivery | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(deliveries).where((deliveries.c.user_id == user_id) & (deliveries.c.slot == slot))
            ).mappings().first()
        return _delivery(row) if row else None

    def stuck(self, older_than: dt.timedelta, *, limit: int = 500) -> list[Delivery]:
        """Slots left ``sending`` for longer than ``older_than``: their sender died mid-send."""
        cutoff = _now() - older_than
        q = (sa.select(deliveries)
             .where((deliveries.c.status == Status.SENDING.value) & (deliveries.c.claimed_at < cutoff))
             .order_by(deliveries.c.claimed_at).limit(limit))
        with self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(q).mappings().all()]

    def recent(self, user_id: str | None = None, limit: int = 50) -> list[Delivery]:
        q = sa.select(deliveries).order_by(deliveries.c.updated_at.desc()).limit(limit)
        if user_id:
            q = q.where(deliveries.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(q).mappings().all()]


def _delivery(row: sa.RowMapping) -> Delivery:
    return Delivery(
        user_id=row["user_id"], slot=row["slot"], status=Status(row["status"]),
        flow_run_id=row["flow_run_id"], message_id=row["message_id"], provider_id=row["provider_id"],
        novel_count=row["novel_count"], detail=row["detail"],
        claimed_at=_aware(row["claimed_at"]), updated_at=_aware(row["updated_at"]),
    )
