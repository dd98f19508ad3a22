"""Incremental sync: sync tokens per calendar, the encrypted state blob, 410 recovery."""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Callable

import pytest

from novel_events.errors import InvalidInput
from novel_events.sources.google import GoogleFetch, new_state_key
from tests.fakes.google_calendar import timed_event
from tests.support.google import KIDS, NOW, PRIMARY, TIME_MAX, TIME_MIN, WORK, GoogleUser, basic_dump

DAY = dt.timedelta(days=1)


def same_dump(a: GoogleFetch, b: GoogleFetch) -> bool:
    return a.dump.to_json() == b.dump.to_json()


def test_unchanged_calendars_cost_one_small_call_each(google_user: GoogleUser) -> None:
    first = google_user.sync()
    assert first.state and first.stats.full_syncs == 3 and first.stats.state_note is None
    first_calls = len(google_user.api_requests())

    second = google_user.sync(first.state)

    calls = google_user.api_requests()[first_calls:]
    assert second.stats.api_calls == len(calls) == 2 + 3  # list + time zone + one per calendar
    assert second.stats.full_syncs == 0 and second.stats.incremental_syncs == 3
    assert second.stats.changes_applied == 0
    events = [r for r in calls if r.path.endswith("/events")]
    assert all(r.param("syncToken") and r.param("timeMin") is None and r.param("timeMax") is None for r in events)
    assert all(r.param("singleEvents") == "true" for r in events)
    assert second.stats.bytes_received * 5 < first.stats.bytes_received
    assert same_dump(first, second)
    assert same_dump(second, google_user.fetch())  # no state, straight from the API


def test_changes_and_deletions_arrive_incrementally(google_user: GoogleUser) -> None:
    first = google_user.sync()
    account = google_user.account
    account.add_event(PRIMARY, timed_event("lisbon", NOW + 4 * DAY, summary="Flight to Lisbon"))
    account.update_event(
        WORK,
        "review_50",
        {
            "summary": "Review (moved)",
            "start": {"dateTime": (NOW + 2 * DAY).isoformat()},
            "end": {"dateTime": (NOW + 2 * DAY + dt.timedelta(hours=1)).isoformat()},
        },
    )
    account.delete_event(PRIMARY, "dentist")
    account.delete_event(KIDS, "play")

    second = google_user.sync(first.state)

    assert second.stats.incremental_syncs == 3 and second.stats.full_syncs == 0
    assert second.stats.changes_applied == 4
    primary = {e["id"]: e for e in second.dump.calendars[0].items}
    assert "lisbon" in primary and primary["lisbon"]["summary"] == "Flight to Lisbon"
    assert "dentist" not in primary
    work = {e["id"]: e for e in second.dump.calendars[1].items}
    assert work["review_50"]["summary"] == "Review (moved)"
    assert second.dump.calendars[2].items == []
    # a deletion reaches the client as a bare cancelled item
    changes = google_user.events_requests()[-3]
    assert changes.param("syncToken")
    assert same_dump(second, google_user.fetch())


def test_events_moving_across_the_window_edges(google_user: GoogleUser) -> None:
    first = google_user.sync()
    account = google_user.account
    far = NOW + 200 * DAY
    account.update_event(
        PRIMARY,
        "dentist",
        {"start": {"dateTime": far.isoformat()}, "end": {"dateTime": (far + DAY).isoformat()}},
    )
    account.add_event(PRIMARY, timed_event("future", NOW + 300 * DAY))  # changed, but outside the window
    second = google_user.sync(first.state)
    assert "dentist" not in [e["id"] for e in second.dump.calendars[0].items]
    assert "future" not in [e["id"] for e in second.dump.calendars[0].items]

    account.update_event(
        PRIMARY,
        "future",
        {"start": {"dateTime": (NOW + DAY).isoformat()}, "end": {"dateTime": (NOW + 2 * DAY).isoformat()}},
    )
    third = google_user.sync(second.state)
    assert "future" in [e["id"] for e in third.dump.calendars[0].items]
    assert same_dump(third, google_user.fetch())


def test_sliding_window_stays_incremental_until_the_horizon(google_user: GoogleUser) -> None:
    state = google_user.sync().state
    for day in range(1, 4):  # three daily digests
        google_user.account.add_event(WORK, timed_event(f"new-{day}", NOW + (14 + day) * DAY - dt.timedelta(hours=1)))
        result = google_user.sync(state, time_min=TIME_MIN + day * DAY, time_max=TIME_MAX + day * DAY)
        assert result.stats.full_syncs == 0, day
        assert f"new-{day}" in [e["id"] for e in result.dump.calendars[1].items]
        assert same_dump(result, google_user.fetch(time_min=TIME_MIN + day * DAY, time_max=TIME_MAX + day * DAY))
        state = result.state

    beyond = google_user.sync(state, time_min=TIME_MIN + 30 * DAY, time_max=TIME_MAX + 30 * DAY)
    assert beyond.stats.full_syncs == 3  # past the 28-day horizon: listed again

    earlier = google_user.sync(beyond.state, time_min=TIME_MIN, time_max=TIME_MAX)
    assert earlier.stats.full_syncs == 3  # more history than cached: listed again


def test_410_recovers_with_one_full_sync_of_that_calendar(google_user: GoogleUser) -> None:
    first = google_user.sync()
    google_user.account.invalidate_sync_tokens(WORK)
    google_user.account.add_event(WORK, timed_event("offsite", NOW + 6 * DAY))

    second = google_user.sync(first.state)

    assert second.stats.resyncs_after_410 == 1
    assert second.stats.full_syncs == 1 and second.stats.incremental_syncs == 2
    work_calls = [r for r in google_user.events_requests() if "c_work" in r.path][-2:]
    assert [r.status for r in work_calls] == [410, 200]
    assert work_calls[0].param("syncToken") and work_calls[1].param("timeMin")
    assert "offsite" in [e["id"] for e in second.dump.calendars[1].items]

    third = google_user.sync(second.state)  # and the fresh token works again
    assert third.stats.incremental_syncs == 3 and third.stats.full_syncs == 0


def test_state_at_rest_is_encrypted_and_compact(google_user: GoogleUser) -> None:
    state = google_user.sync().state
    assert state is not None
    # (no short marker: 3 characters occur by chance in ~20 kB of base64 ciphertext one run in ~13)
    for visible in (b"standup", b"Event dentist", PRIMARY.encode(), b"syncToken", b"nextSyncToken"):
        assert visible not in state
    with pytest.raises(ValueError):
        json.loads(state)
    with pytest.raises(zlib.error):
        zlib.decompress(state)
    assert len(state) < 20_000  # 110 events


def test_unusable_state_falls_back_to_a_full_sync(google_user: GoogleUser) -> None:
    state = google_user.sync().state
    assert state is not None

    other_key = google_user.fetch(state=state, state_key=new_state_key())
    assert other_key.stats.full_syncs == 3 and "did not decrypt" in str(other_key.stats.state_note)

    tampered = state[:-5] + (b"AAAAA" if not state.endswith(b"AAAAA") else b"BBBBB")
    assert google_user.sync(tampered).stats.full_syncs == 3

    assert google_user.sync(b"not a state").stats.full_syncs == 3
    assert google_user.sync(b"").stats.state_note is None


def test_state_of_another_account_is_not_used(make_google_user: Callable[..., GoogleUser]) -> None:
    alice = make_google_user()
    dump = basic_dump()
    dump["calendars"][0]["id"] = "bob@example.com"
    bob = make_google_user(dump)
    bob.key = alice.key

    result = bob.sync(alice.sync().state)

    assert result.stats.full_syncs == 3 and "another account" in str(result.stats.state_note)


def test_a_bad_key_is_invalid_input(google_user: GoogleUser) -> None:
    with pytest.raises(InvalidInput, match="sync state key"):
        google_user.fetch(state_key=b"too short")


def test_state_drops_calendars_no_longer_chosen(google_user: GoogleUser) -> None:
    from novel_events.sources.google import CalendarSelection

    state = google_user.sync().state
    narrowed = google_user.sync(state, selection=CalendarSelection.of(exclude=["work"]))
    widened = google_user.sync(narrowed.state)
    assert widened.stats.full_syncs == 1 and widened.stats.incremental_syncs == 2
