"""Open user notices in the store (see novel_events/notices.py for what they mean)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from novel_events.notices import NoticeKind, OpenNotice
from novel_events.store.tables import user_notices


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


class NoticeStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def list(self) -> list[OpenNotice]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(user_notices).order_by(user_notices.c.user_id)).mappings().all()
        out = []
        for r in rows:
            opened = _aware(r["opened_at"])
            assert opened is not None
            out.append(
                OpenNotice(
                    user_id=r["user_id"],
                    kind=NoticeKind(r["kind"]),
                    opened_at=opened,
                    notified_at=_aware(r["notified_at"]),
                    alerted_at=_aware(r["alerted_at"]),
                )
            )
        return out

    def open(self, user_id: str, kind: NoticeKind, reason: str = "", *, now: dt.datetime | None = None) -> bool:
        """Record a new notice; False when one is already open (another sweep won)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    user_notices.insert().values(
                        user_id=user_id, kind=kind.value, reason=reason[:255] or None, opened_at=now or _now()
                    )
                )
            return True
        except sa.exc.IntegrityError:
            return False

    def get(self, user_id: str, kind: NoticeKind) -> OpenNotice | None:
        return next((n for n in self.list() if n.user_id == user_id and n.kind is kind), None)

    def mark(self, user_id: str, kind: NoticeKind, *, notified: bool = False, alerted: bool = False) -> None:
        values = {}
        if notified:
            values["notified_at"] = _now()
        if alerted:
            values["alerted_at"] = _now()
        if not values:
            return
        with self.engine.begin() as conn:
            conn.execute(
                user_notices.update()
                .where((user_notices.c.user_id == user_id) & (user_notices.c.kind == kind.value))
                .values(**values)
            )

    def close(self, user_id: str, kind: NoticeKind) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                user_notices.delete().where((user_notices.c.user_id == user_id) & (user_notices.c.kind == kind.value))
            )
