"""User notices and fleet counts in the store, on real SQLite and PostgreSQL (migration 0006)."""

from __future__ import annotations

import sqlalchemy as sa

from novel_events.models import User
from novel_events.notices import NoticeKind
from novel_events.schedules import Schedule
from novel_events.store import Ledger, Status, UserStore
from novel_events.store.fleet import slots_by_status, users_by_state, users_needing_attention
from novel_events.store.notices import NoticeStore
from tests.unit.test_store import engine  # noqa: F401 - the SQLite + PostgreSQL fixture


def test_a_notice_opens_once_is_marked_and_closes(engine: sa.Engine) -> None:  # noqa: F811
    notices = NoticeStore(engine)
    assert notices.open("ada", NoticeKind.FAILING, "boom") is True
    assert notices.open("ada", NoticeKind.FAILING, "again") is False  # a racing sweep loses
    assert notices.open("ada", NoticeKind.RECONNECT) is True
    failing = notices.get("ada", NoticeKind.FAILING)
    assert failing is not None and failing.notified_at is None and failing.opened_at.tzinfo is not None
    notices.mark("ada", NoticeKind.FAILING, notified=True)
    notices.mark("ada", NoticeKind.FAILING, alerted=True)
    failing = notices.get("ada", NoticeKind.FAILING)
    assert failing is not None and failing.notified_at is not None and failing.alerted_at is not None
    notices.close("ada", NoticeKind.FAILING)
    assert [(n.user_id, n.kind) for n in notices.list()] == [("ada", NoticeKind.RECONNECT)]


def test_fleet_counts(engine: sa.Engine) -> None:  # noqa: F811
    users = UserStore(engine)
    sched = Schedule.parse("daily", "07:30", "UTC", None)
    for uid, enabled, reconnect in (("a", True, False), ("b", True, True), ("c", False, True)):
        users.add(User(id=uid, email=f"{uid}@example.org", schedule=sched, enabled=enabled, needs_reconnect=reconnect))
    assert users_by_state(engine) == {"enabled": 2, "paused": 1, "needs_reconnect": 2}
    assert users_needing_attention(engine) == ["b"]
    ledger = Ledger(engine)
    ledger.claim("a", "2026-12-01T07:30Z", flow_run_id="r1")
    ledger.record("a", "2026-12-01T07:30Z", Status.SENT)
    ledger.claim("a", "2026-12-02T07:30Z", flow_run_id="r2")
    counts = slots_by_status(engine)
    assert counts["sent"] == 1 and counts["sending"] == 1 and counts["failed"] == 0
