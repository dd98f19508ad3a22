"""Web sign-in: the user a Google account signs in as (by its primary calendar id, i.e. its address)."""

from __future__ import annotations

import datetime as dt
import re
import secrets

import sqlalchemy as sa

from novel_events.store.tables import google_accounts, mute_rules, users


def new_user_id(address: str) -> str:
    """A fresh user id for a sign-up: the address's local part, cleaned, plus a random suffix (never an address)."""
    local = address.partition("@")[0].lower()
    base = re.sub(r"[^a-z0-9_-]+", "-", local).strip("-_")[:40] or "user"
    return f"{base}-{secrets.token_hex(3)}"


class AccountStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def user_for(self, subject: str) -> str | None:
        """The user id linked to ``subject``, if that user still exists."""
        q = (
            sa.select(google_accounts.c.user_id)
            .join(users, users.c.id == google_accounts.c.user_id)
            .where(google_accounts.c.subject == subject.lower())
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return str(row[0]) if row else None

    def link(self, subject: str, user_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                google_accounts.delete().where(
                    (google_accounts.c.subject == subject.lower()) | (google_accounts.c.user_id == user_id)
                )
            )
            conn.execute(
                google_accounts.insert().values(
                    subject=subject.lower(), user_id=user_id, created_at=dt.datetime.now(dt.UTC)
                )
            )

    def forget_user(self, user_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(google_accounts.delete().where(google_accounts.c.user_id == user_id))
            conn.execute(mute_rules.delete().where(mute_rules.c.user_id == user_id))
