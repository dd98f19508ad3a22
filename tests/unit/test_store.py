"""The store on real SQLite and real PostgreSQL: migrations keep users, the ledger claims once."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from novel_events.errors import InvalidInput, NotFound
from novel_events.models import User
from novel_events.schedules import Schedule
from novel_events.store import Ledger, Status, UserStore, make_engine, upgrade
from novel_events.store.migrate import current_revision, head_revision


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[sa.Engine]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    pg_url: str = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(pg_url)
    with admin.begin() as c:
        c.execute(sa.text(f"CREATE SCHEMA {schema}"))
    eng = sa.create_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(eng)
    yield eng
    eng.dispose()
    with admin.begin() as c:
        c.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _user(uid: str = "alice", **kw: object) -> User:
    return User(id=uid, email=f"{uid}@example.org", schedule=Schedule.parse("daily", "07:00", "Europe/Berlin"),
                source="ics:/tmp/x.ics", **kw)  # type: ignore[arg-type]


def test_users_round_trip(engine: sa.Engine) -> None:
    store = UserStore(engine)
    u = _user(include_calendars=("Work",), lookahead_days=30)
    store.add(u)
    assert store.get("alice") == u
    with pytest.raises(InvalidInput):
        store.add(u)
    assert store.save(u) is False
    assert store.save(u.with_changes(enabled=False)) is True
    assert store.get("alice").enabled is False
    store.remove("alice")
    with pytest.raises(NotFound):
        store.get("alice")


def test_upgrade_is_idempotent_and_keeps_users(engine: sa.Engine) -> None:
    UserStore(engine).add(_user("bob"))
    assert upgrade(engine) == (head_revision(), head_revision())
    assert current_revision(engine) == head_revision()
    assert [u.id for u in UserStore(engine).list()] == ["bob"]


def test_ledger_claims_once_and_final_states_stick(engine: sa.Engine) -> None:
    ledger = Ledger(engine)
    first = ledger.claim("alice", "2026-12-01T06:00Z", flow_run_id="r1", message_id="<m1>")
    assert first.won and not first.takeover
    assert not ledger.claim("alice", "2026-12-01T06:00Z", flow_run_id="r2").won  # fresh claim held
    ledger.record("alice", "2026-12-01T06:00Z", Status.SENT, provider_id="p1", novel_count=2)
    again = ledger.claim("alice", "2026-12-01T06:00Z", flow_run_id="r3", stale_after=dt.timedelta(0))
    assert not again.won and again.status is Status.SENT
    d = ledger.get("alice", "2026-12-01T06:00Z")
    assert d is not None and d.provider_id == "p1" and d.message_id == "<m1>" and d.flow_run_id == "r1"


def test_stale_and_failed_claims_are_taken_over_with_the_same_message_id(engine: sa.Engine) -> None:
    ledger = Ledger(engine)
    assert ledger.claim("carol", "s1", flow_run_id="r1", message_id="<m>").won
    took = ledger.claim("carol", "s1", flow_run_id="r2", stale_after=dt.timedelta(0))
    assert took.won and took.takeover
    assert ledger.get("carol", "s1").message_id == "<m>"  # type: ignore[union-attr]
    ledger.record("carol", "s1", Status.FAILED, detail="boom")
    assert ledger.claim("carol", "s1", flow_run_id="r3").won


def test_racing_claims_have_one_winner(engine: sa.Engine) -> None:
    ledger = Ledger(engine)
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def go(i: int) -> None:
        barrier.wait()
        wins.append(ledger.claim("dave", "race", flow_run_id=f"r{i}").won)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]
