"""Each user's mute rules in the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from novel_events.errors import InvalidInput
from novel_events.novelty.mutes import KINDS, LABEL_MAX, MuteRule
from novel_events.store.tables import mute_rules


@dataclass(frozen=True, slots=True)
class StoredMute:
    id: int
    rule: MuteRule
    created_at: dt.datetime


class MuteStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def add(self, user_id: str, rule: MuteRule) -> bool:
        """Store ``rule`` for ``user_id``; False when it was already there."""
        if rule.kind not in KINDS or not rule.value or len(rule.value) > 1024:
            raise InvalidInput("mute", f"kind must be one of {', '.join(KINDS)} with a value")
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    mute_rules.insert().values(
                        user_id=user_id,
                        kind=rule.kind,
                        value=rule.value,
                        label=rule.label[:LABEL_MAX],
                        created_at=dt.datetime.now(dt.UTC),
                    )
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def list(self, user_id: str) -> list[StoredMute]:
        q = sa.select(mute_rules).where(mute_rules.c.user_id == user_id).order_by(mute_rules.c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [StoredMute(r["id"], MuteRule(r["kind"], r["value"], r["label"]), r["created_at"]) for r in rows]

    def rules(self, user_id: str) -> tuple[MuteRule, ...]:
        return tuple(m.rule for m in self.list(user_id))

    def remove(self, user_id: str, mute_id: int) -> bool:
        """Remove one of ``user_id``'s rules; another user's rule id removes nothing."""
        with self.engine.begin() as conn:
            gone = conn.execute(
                mute_rules.delete().where((mute_rules.c.id == mute_id) & (mute_rules.c.user_id == user_id))
            ).rowcount
        return bool(gone)

    def clear(self, user_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(mute_rules.delete().where(mute_rules.c.user_id == user_id))
