"""Opaque (already encrypted) incremental-sync state per user."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from novel_events.store.failures import transient_store
from novel_events.store.tables import sync_state


class SyncStateStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @transient_store
    def get(self, user_id: str, source: str) -> bytes | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(sync_state.c.state).where((sync_state.c.user_id == user_id) & (sync_state.c.source == source))
            ).first()
        return bytes(row[0]) if row else None

    @transient_store
    def put(self, user_id: str, source: str, state: bytes | None) -> None:
        now = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            conn.execute(sync_state.delete().where(sync_state.c.user_id == user_id))
            if state:
                conn.execute(sync_state.insert().values(user_id=user_id, source=source, state=state, updated_at=now))
