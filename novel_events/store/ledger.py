"""The delivery ledger: at most one digest per (user, slot), and what became of every attempt.

A run *claims* its slot before sending (a row with a unique key), then records the outcome.

- ``sent`` / ``empty`` / ``missed`` / ``failed``: final; no later run sends anything for the slot.
  ``failed`` is a permanent failure (the provider refused the message, the grant was revoked).
- ``retry``: the send failed for sure (relay down, 4xx, 5xx before the message was accepted):
  nothing went out, the next run of the slot claims it again.
- ``unknown``: the message was handed over and the answer never came: it may have been delivered.
  It is sent again at most once (``MAX_AMBIGUOUS`` in all), with the same deterministic Message-ID.
- ``sending``: someone holds the claim. If the claim is older than ``stale_after`` its sender died
  (outcome unknown): a later run takes it over under the same at-most-once-more rule.
Take-overs are compare-and-set updates, so two racing runs cannot both win.
Every method turns a store outage into :class:`~novel_events.errors.StoreUnavailable` (retried).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa

from novel_events.store.failures import transient_store
from novel_events.store.tables import deliveries


class Status(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    EMPTY = "empty"
    MISSED = "missed"
    FAILED = "failed"
    RETRY = "retry"
    UNKNOWN = "unknown"


FINAL = frozenset({Status.SENT, Status.EMPTY, Status.MISSED, Status.FAILED})
DELIVERED = frozenset({Status.SENT, Status.EMPTY})
MAX_AMBIGUOUS = 1  # sends whose outcome could not be known, after which the slot is never sent again


@dataclass(frozen=True, slots=True)
class Claim:
    won: bool
    status: Status  # the row's status when the claim was lost, the claimed status when won
    takeover: bool = False  # won by taking over a stale, failed or unknown claim
    flow_run_id: str | None = None
    resend: bool = False  # won although an earlier attempt may have been delivered (same Message-ID)


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
    attempts: int = 0
    ambiguous: int = 0

    def stale(self, after: dt.timedelta, now: dt.datetime | None = None) -> bool:
        return self.status is Status.SENDING and (now or _now()) - self.claimed_at > after

    def exhausted(self) -> bool:
        """Unknown outcome, already re-sent once: never send this slot again."""
        return self.status in {Status.UNKNOWN, Status.SENDING} and self.ambiguous >= MAX_AMBIGUOUS


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Ledger:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @transient_store
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
        sending = status is Status.SENDING
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    deliveries.insert().values(
                        user_id=user_id,
                        slot=slot,
                        status=status.value,
                        flow_run_id=flow_run_id,
                        message_id=message_id,
                        claimed_at=now,
                        updated_at=now,
                        attempts=int(sending),
                        ambiguous=0,
                    )
                )
            return Claim(won=True, status=status)
        except sa.exc.IntegrityError:
            pass
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(deliveries).where(key)).mappings().first()
            if row is None:  # removed in between: try once more from scratch
                return self.claim(
                    user_id,
                    slot,
                    flow_run_id=flow_run_id,
                    message_id=message_id,
                    stale_after=stale_after,
                    status=status,
                )
            current = _delivery(row)
            if current.status in FINAL or (current.status is Status.SENDING and not current.stale(stale_after, now)):
                return Claim(won=False, status=current.status, flow_run_id=current.flow_run_id)
            # an earlier attempt may have been delivered: a stale claim (its sender died) or an unknown outcome
            ambiguous = current.status in {Status.SENDING, Status.UNKNOWN}
            if ambiguous and sending and current.exhausted():
                return Claim(won=False, status=Status.UNKNOWN, flow_run_id=current.flow_run_id)
            taken = conn.execute(
                deliveries.update()
                .where(key & (deliveries.c.status == row["status"]) & (deliveries.c.claimed_at == row["claimed_at"]))
                .values(
                    status=status.value,
                    flow_run_id=flow_run_id,
                    claimed_at=now,
                    updated_at=now,
                    message_id=message_id or row["message_id"],
                    attempts=current.attempts + int(sending),
                    ambiguous=current.ambiguous + int(ambiguous and sending),
                )
            ).rowcount
        if taken != 1:
            return Claim(won=False, status=Status.SENDING)
        return Claim(won=True, status=status, takeover=True, resend=ambiguous and sending)

    @transient_store
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
                .values(
                    status=status.value,
                    provider_id=provider_id,
                    novel_count=novel_count,
                    detail=(detail or None) and detail[:500],
                    updated_at=_now(),
                )
            )

    @transient_store
    def release(self, user_id: str, slot: str, holder: str, detail: str) -> bool:
        """A claim whose run died mid-send becomes ``unknown`` (compare-and-set on that run's claim)."""
        key = (deliveries.c.user_id == user_id) & (deliveries.c.slot == slot)
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    deliveries.update()
                    .where(key & (deliveries.c.status == Status.SENDING.value) & (deliveries.c.flow_run_id == holder))
                    .values(status=Status.UNKNOWN.value, detail=detail[:500], updated_at=_now())
                ).rowcount
                == 1
            )

    @transient_store
    def settle_sent(self, user_id: str, slot: str, flow_run_id: str, detail: str) -> bool:
        """Record a send the ledger missed (its run completed as sent while the store was away)."""
        key = (deliveries.c.user_id == user_id) & (deliveries.c.slot == slot)
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    deliveries.update()
                    .where(key & deliveries.c.status.not_in([st.value for st in FINAL]))
                    .values(status=Status.SENT.value, flow_run_id=flow_run_id, detail=detail[:500], updated_at=_now())
                ).rowcount
                == 1
            )

    @transient_store
    def get(self, user_id: str, slot: str) -> Delivery | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(deliveries).where((deliveries.c.user_id == user_id) & (deliveries.c.slot == slot))
                )
                .mappings()
                .first()
            )
        return _delivery(row) if row else None

    @transient_store
    def stuck(self, older_than: dt.timedelta, *, limit: int = 500) -> list[Delivery]:
        """Slots left ``sending`` for longer than ``older_than``: their sender died mid-send."""
        cutoff = _now() - older_than
        q = (
            sa.select(deliveries)
            .where((deliveries.c.status == Status.SENDING.value) & (deliveries.c.claimed_at < cutoff))
            .order_by(deliveries.c.claimed_at)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(q).mappings().all()]

    @transient_store
    def since(self, start: dt.datetime, *, limit: int = 100_000) -> dict[tuple[str, str], Delivery]:
        """Scheduled slots at or after ``start`` (slot keys sort as time: ``YYYY-MM-DDTHH:MMZ``)."""
        first = start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")
        q = (
            sa.select(deliveries)
            .where((deliveries.c.slot >= first) & ~deliveries.c.slot.startswith("manual:"))
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return {(r["user_id"], r["slot"]): _delivery(r) for r in conn.execute(q).mappings().all()}

    @transient_store
    def recent(self, user_id: str | None = None, limit: int = 50) -> list[Delivery]:
        q = sa.select(deliveries).order_by(deliveries.c.updated_at.desc()).limit(limit)
        if user_id:
            q = q.where(deliveries.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(q).mappings().all()]


def _delivery(row: sa.RowMapping) -> Delivery:
    return Delivery(
        user_id=row["user_id"],
        slot=row["slot"],
        status=Status(row["status"]),
        flow_run_id=row["flow_run_id"],
        message_id=row["message_id"],
        provider_id=row["provider_id"],
        novel_count=row["novel_count"],
        detail=row["detail"],
        claimed_at=_aware(row["claimed_at"]),
        updated_at=_aware(row["updated_at"]),
        attempts=row.get("attempts") or 0,
        ambiguous=row.get("ambiguous") or 0,
    )
