"""The store on real SQLite and real PostgreSQL: migrations keep users, the ledger claims once."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

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
    return User(
        id=uid,
        email=f"{uid}@example.org",
        schedule=Schedule.parse("daily", "07:00", "Europe/Berlin"),
        source="ics:/tmp/x.ics",
        **kw,
    )  # type: ignore[arg-type]


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


def test_stale_and_retry_claims_are_taken_over_with_the_same_message_id(engine: sa.Engine) -> None:
    ledger = Ledger(engine)
    assert ledger.claim("carol", "s1", flow_run_id="r1", message_id="<m>").won
    took = ledger.claim("carol", "s1", flow_run_id="r2", stale_after=dt.timedelta(0))
    assert took.won and took.takeover and took.resend  # the dead sender may have delivered: a re-send
    assert ledger.get("carol", "s1").message_id == "<m>"  # type: ignore[union-attr]
    ledger.record("carol", "s1", Status.RETRY, detail="relay down")  # a definite failure: nothing went out
    again = ledger.claim("carol", "s1", flow_run_id="r3")
    assert again.won and not again.resend
    d = ledger.get("carol", "s1")
    assert d is not None and (d.attempts, d.ambiguous, d.message_id) == (3, 1, "<m>")


# (what the first attempt left, how many re-sends after an unknown outcome happened) -> can a run send now?
@pytest.mark.parametrize(
    ("left", "ambiguous_before", "wins", "resend"),
    [
        (Status.RETRY, 0, True, False),  # definite failure: retried as often as the window allows
        (Status.UNKNOWN, 0, True, True),  # unknown outcome: one more send, same Message-ID
        (Status.UNKNOWN, 1, False, False),  # ... and never a third copy
        (Status.FAILED, 0, False, False),  # permanent failure: final
        (Status.SENT, 0, False, False),
        (Status.EMPTY, 0, False, False),
        (Status.MISSED, 0, False, False),
    ],
)
def test_what_a_slot_allows_after_an_attempt(
    engine: sa.Engine, left: Status, ambiguous_before: int, wins: bool, resend: bool
) -> None:
    ledger = Ledger(engine)
    slot = f"2026-12-01T07:{ambiguous_before:02d}Z"
    user = f"t-{left.value}"
    assert ledger.claim(user, slot, flow_run_id="r1", message_id="<m>").won
    for i in range(ambiguous_before):  # earlier re-sends after unknown outcomes
        ledger.record(user, slot, Status.UNKNOWN)
        assert ledger.claim(user, slot, flow_run_id=f"x{i}").resend
    ledger.record(user, slot, left, detail="first attempt")
    claim = ledger.claim(user, slot, flow_run_id="r2")
    assert (claim.won, claim.resend) == (wins, resend)


def test_a_dead_holders_claim_is_released_as_unknown_and_a_missed_send_settled(engine: sa.Engine) -> None:
    ledger = Ledger(engine)
    assert ledger.claim("erin", "2026-12-01T08:00Z", flow_run_id="dead", message_id="<m>").won
    assert not ledger.release("erin", "2026-12-01T08:00Z", "someone-else", "x")  # only the holder's claim
    assert ledger.release("erin", "2026-12-01T08:00Z", "dead", "died mid-send")
    assert ledger.get("erin", "2026-12-01T08:00Z").status is Status.UNKNOWN  # type: ignore[union-attr]
    assert ledger.claim("erin", "2026-12-01T08:00Z", flow_run_id="r2").resend
    assert ledger.settle_sent("erin", "2026-12-01T08:00Z", "r2", "recorded by the sweep")
    assert not ledger.settle_sent("erin", "2026-12-01T08:00Z", "r3", "again")  # final stays final
    assert set(ledger.since(dt.datetime(2026, 12, 1, 7, 59, tzinfo=dt.UTC))) == {("erin", "2026-12-01T08:00Z")}
    assert ledger.since(dt.datetime(2026, 12, 1, 8, 1, tzinfo=dt.UTC)) == {}


def test_an_unreachable_store_is_a_transient_error_that_names_no_row() -> None:
    from novel_events.errors import StoreUnavailable, is_transient

    ledger = Ledger(
        sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 2})
    )
    with pytest.raises(StoreUnavailable) as info:
        ledger.claim("frank@example.org", "2026-12-01T08:00Z", flow_run_id="r1")
    assert is_transient(info.value)
    assert "frank" not in str(info.value) and "127.0.0.1" not in str(info.value)
    assert "connection refused" in str(info.value)  # the reason, from the fixed list, so the operator knows why


def test_an_unopenable_sqlite_store_says_why(tmp_path: Path) -> None:
    from novel_events.errors import StoreUnavailable

    ledger = Ledger(sa.create_engine(f"sqlite:///{tmp_path}/no/such/dir/x.db"))
    with pytest.raises(StoreUnavailable, match="unable to open database file") as info:
        ledger.claim("frank@example.org", "2026-12-01T08:00Z", flow_run_id="r1")
    assert "frank" not in str(info.value) and str(tmp_path) not in str(info.value)


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
