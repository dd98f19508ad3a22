from __future__ import annotations

import datetime as dt

import pytest

from novel_events.slots import is_missed, message_id, slot_for, slot_time

T = dt.datetime(2026, 12, 1, 6, 30, 42, 123, tzinfo=dt.UTC)


def test_scheduled_slot_is_the_minute_in_utc() -> None:
    berlin = T.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert slot_for(T, manual=False, flow_run_id="x") == slot_for(berlin, manual=False, flow_run_id="y")
    assert slot_for(T, manual=False, flow_run_id="x") == "2026-12-01T06:30Z"
    assert slot_time("2026-12-01T06:30Z") == T.replace(second=0, microsecond=0)


def test_manual_runs_get_their_own_slot() -> None:
    assert slot_for(T, manual=True, flow_run_id="abc") == "manual:abc"
    assert slot_time("manual:abc") is None


@pytest.mark.parametrize(
    ("late", "missed"),
    [(dt.timedelta(0), False), (dt.timedelta(hours=2), False), (dt.timedelta(hours=2, minutes=1), True)],
)
def test_catch_up_window(late: dt.timedelta, missed: bool) -> None:
    slot = slot_for(T, manual=False, flow_run_id=None)
    assert is_missed(slot, slot_time(slot) + late, dt.timedelta(hours=2)) is missed  # type: ignore[operator]
    assert is_missed("manual:x", T + dt.timedelta(days=3), dt.timedelta(hours=2)) is False


def test_message_id_is_deterministic_per_user_and_slot() -> None:
    assert message_id("a", "s") == message_id("a", "s")
    assert len({message_id("a", "s"), message_id("b", "s"), message_id("a", "t")}) == 3
    assert message_id("a", "s", "ex.org").endswith("@ex.org>")
