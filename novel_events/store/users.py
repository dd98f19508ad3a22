"""Users in the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from novel_events.errors import InvalidInput, NotFound
from novel_events.models import User
from novel_events.schedules import Schedule
from novel_events.store import feed_secrets
from novel_events.store.failures import transient_store
from novel_events.store.tables import mute_rules, sync_state, users


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _row(user: User) -> dict[str, Any]:
    s = user.schedule
    return {
        "id": user.id,
        "email": user.email,
        "timezone": s.timezone,
        "cadence": s.cadence.value,
        "at_time": s.at.strftime("%H:%M"),
        "day": s.day,
        "source": user.source,
        "lookahead_days": user.lookahead_days,
        "include_calendars": list(user.include_calendars),
        "exclude_calendars": list(user.exclude_calendars),
        "enabled": user.enabled,
        "sensitivity": user.sensitivity,
        "include_all_day": user.include_all_day,
        "include_declined": user.include_declined,
        "send_when_empty": user.send_when_empty,
        "needs_reconnect": user.needs_reconnect,
    }


def _user(row: Mapping[str, Any] | sa.RowMapping) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        schedule=Schedule.parse(row["cadence"], row["at_time"], row["timezone"], row["day"]),
        source=row["source"],
        lookahead_days=row["lookahead_days"],
        include_calendars=tuple(row["include_calendars"] or ()),
        exclude_calendars=tuple(row["exclude_calendars"] or ()),
        enabled=bool(row["enabled"]),
        sensitivity=row["sensitivity"],
        include_all_day=bool(row["include_all_day"]),
        include_declined=bool(row["include_declined"]),
        send_when_empty=bool(row["send_when_empty"]),
        needs_reconnect=bool(row["needs_reconnect"]),
    )


def _default_key() -> bytes:
    from novel_events.settings import load_settings

    return feed_secrets.store_key(load_settings())


class UserStore:
    """Users in the store; private feed URLs are sealed on write and unsealed on read
    (``key`` gives the store key, by default from the settings: see :mod:`feed_secrets`)."""

    def __init__(self, engine: sa.Engine, key: Callable[[], bytes] | None = None) -> None:
        self.engine = engine
        self._key_fn = key or _default_key
        self._key: bytes | None = None

    def _sealed(self, user: User) -> dict[str, Any]:
        row = _row(user)
        if feed_secrets.is_private(user.source):
            self._key = self._key or self._key_fn()
            row["source"] = feed_secrets.seal(user.source, self._key)
        return row

    def _user(self, row: Mapping[str, Any] | sa.RowMapping) -> User:
        if str(row["source"]).startswith(feed_secrets.PREFIX):
            self._key = self._key or self._key_fn()
            row = {**row, "source": feed_secrets.unseal(row["source"], self._key)}
        return _user(row)

    def add(self, user: User) -> None:
        now = _now()
        with self.engine.begin() as conn:
            if conn.execute(sa.select(users.c.id).where(users.c.id == user.id)).first():
                raise InvalidInput("ID", f"user {user.id!r} already exists; use 'users set' to change it")
            conn.execute(users.insert().values(**self._sealed(user), created_at=now, updated_at=now))

    def save(self, user: User) -> bool:
        """Update an existing user; returns False when nothing changed."""
        with self.engine.begin() as conn:
            current = conn.execute(sa.select(users).where(users.c.id == user.id)).mappings().first()
            if current is None:
                raise NotFound(f"unknown user {user.id!r}")
            if self._user(current) == user:
                return False
            conn.execute(users.update().where(users.c.id == user.id).values(**self._sealed(user), updated_at=_now()))
            return True

    @transient_store
    def get(self, user_id: str) -> User:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
        if row is None:
            raise NotFound(f"unknown user {user_id!r}")
        return self._user(row)

    def remove(self, user_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sync_state.delete().where(sync_state.c.user_id == user_id))
            conn.execute(mute_rules.delete().where(mute_rules.c.user_id == user_id))
            if conn.execute(users.delete().where(users.c.id == user_id)).rowcount == 0:
                raise NotFound(f"unknown user {user_id!r}")

    @transient_store
    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(users).order_by(users.c.id)).mappings().all()
        return [self._user(r) for r in rows]

    @transient_store
    def set_needs_reconnect(self, user_id: str, value: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(users.update().where(users.c.id == user_id).values(needs_reconnect=value, updated_at=_now()))
