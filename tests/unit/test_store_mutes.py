"""Mute rules and sign-in accounts in the store (migration 0005), SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from novel_events.models import User
from novel_events.novelty import MuteRule
from novel_events.schedules import Schedule
from novel_events.store import AccountStore, MuteStore, UserStore, new_user_id
from tests.unit.test_store import engine  # noqa: F401 - the sqlite/postgresql fixture


def _add(eng: sa.Engine, uid: str) -> None:
    UserStore(eng).add(
        User(
            id=uid,
            email=f"{uid}@example.org",
            schedule=Schedule.parse("daily", "07:00", "UTC"),
            source="ics:/tmp/x.ics",
        )
    )


def test_mutes_per_user(engine: sa.Engine) -> None:  # noqa: F811
    _add(engine, "ada")
    _add(engine, "bob")
    store = MuteStore(engine)
    rule = MuteRule("title", "dentist", "Dentist")
    assert store.add("ada", rule) is True
    assert store.add("ada", rule) is False  # once
    assert store.rules("ada") == (rule,) and store.rules("bob") == ()
    (stored,) = store.list("ada")
    assert store.remove("bob", stored.id) is False  # someone else's rule id removes nothing
    assert store.rules("ada") == (rule,)
    assert store.remove("ada", stored.id) is True and store.rules("ada") == ()
    store.add("ada", rule)
    UserStore(engine).remove("ada")  # a removed user's rules go with them
    assert store.rules("ada") == ()


def test_accounts_link_a_google_address_to_one_user(engine: sa.Engine) -> None:  # noqa: F811
    accounts = AccountStore(engine)
    uid = new_user_id("Dana.Scully+x@Example.org")
    assert uid.startswith("dana-scully-x-") and "@" not in uid
    _add(engine, uid)
    assert accounts.user_for("dana.scully+x@example.org") is None
    accounts.link("Dana.Scully+x@example.org", uid)
    assert accounts.user_for("dana.scully+x@example.org") == uid
    UserStore(engine).remove(uid)
    assert accounts.user_for("dana.scully+x@example.org") is None  # a removed user signs up afresh
