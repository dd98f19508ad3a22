"""fetch_google_calendar with the real google-api-python-client/google-auth against the fake Google."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from novel_events.errors import InvalidInput, PermanentError
from novel_events.sources.google import CalendarSelection, GoogleFetch
from tests.fakes.google_calendar import all_day_event, calendar_entry, timed_event
from tests.support.google import (
    BIRTHDAYS,
    HOLIDAYS,
    KIDS,
    NOW,
    PRIMARY,
    TIME_MAX,
    TIME_MIN,
    WORK,
    GoogleUser,
)


def ids(fetch: GoogleFetch, calendar_id: str | None = None) -> list[str]:
    return [e["id"] for c in fetch.dump.calendars if calendar_id in (None, c.id) for e in c.items]


def test_dump_holds_chosen_calendars_time_zone_and_items(google_user: GoogleUser) -> None:
    google_user.account.set_time_zone("America/Edmonton")
    result = google_user.fetch()

    dump = result.dump
    assert dump.time_zone == "America/Edmonton"  # the user's setting, not a calendar's zone
    assert [(c.id, c.summary, c.primary) for c in dump.calendars] == [
        (PRIMARY, PRIMARY, True),
        (WORK, "Work", False),
        (KIDS, "Kids", False),  # the user's own name for a shared calendar
    ]
    primary = dump.calendars[0]
    assert primary.time_zone == "Europe/Berlin"
    assert len(primary.items) == 55
    assert "dentist" in ids(result, PRIMARY)
    item = next(e for e in primary.items if e["id"] == "dentist")
    assert item["summary"] == "Event dentist" and item["htmlLink"] and item["iCalUID"] == "dentist@google.com"
    assert not {"kind", "etag", "reminders", "sequence"} & item.keys()  # transport noise dropped
    starts = [e["start"]["dateTime"] for e in primary.items]
    assert starts == sorted(starts)  # chronological
    assert result.state is None  # no key, no state
    assert result.stats.calendars == 3 and result.stats.events == 55 + 54 + 1
    assert result.stats.full_syncs == 3 and result.stats.incremental_syncs == 0


def test_requests_use_single_events_max_page_and_the_window(google_user: GoogleUser) -> None:
    result = google_user.fetch()

    calls = google_user.api_requests()
    paths = [r.path for r in calls]
    assert paths[:2] == ["/calendar/v3/users/me/calendarList", "/calendar/v3/users/me/settings/timezone"]
    events = google_user.events_requests()
    assert len(events) == 3 and result.stats.api_calls == len(calls) == 5
    for r in events:
        assert r.param("singleEvents") == "true"
        assert r.param("maxResults") == "2500"
        assert r.param("timeMin") == "2024-06-18T04:00:00Z"
        assert r.param("timeMax") == "2025-07-02T04:00:00Z"
        assert r.param("syncToken") is None
    assert "%23holiday%40" not in " ".join(paths)  # holidays were not even read
    assert result.stats.token_calls == 1
    assert result.stats.bytes_received > 0


def test_pagination_reads_every_page_once(make_google_user: Callable[..., GoogleUser]) -> None:
    start = TIME_MIN + dt.timedelta(hours=1)
    items = [timed_event(f"e{n:05d}", start + dt.timedelta(hours=1.4 * n), 30) for n in range(6001)]
    user = make_google_user({"timeZone": "UTC", "calendars": [calendar_entry(PRIMARY, "Me", items, primary=True)]})

    result = user.fetch()

    events = user.events_requests()
    assert len(events) == 3  # 2500 + 2500 + 1001
    assert events[0].param("pageToken") is None
    assert events[1].param("pageToken") and events[2].param("pageToken")
    got = ids(result)
    assert len(got) == len(set(got)) == 6001
    assert result.stats.api_calls == 2 + 3


def test_calendar_list_pagination(make_google_user: Callable[..., GoogleUser]) -> None:
    cals = [calendar_entry(f"c{n:03d}@group.calendar.google.com", f"Team {n}", []) for n in range(260)]
    cals[0]["primary"] = True
    user = make_google_user({"timeZone": "UTC", "calendars": cals})

    result = user.fetch(selection=CalendarSelection.of(include=["team 259", "TEAM 3"]))

    lists = [r for r in user.api_requests() if r.path.endswith("/calendarList")]
    assert len(lists) == 2 and lists[1].param("pageToken")
    assert [c.summary for c in result.dump.calendars] == ["Team 3", "Team 259"]


def test_window_bounds_follow_google(make_google_user: Callable[..., GoogleUser]) -> None:
    """timeMin bounds the END, timeMax the START (both exclusive); all-day dates in the calendar's zone."""
    lo, hi = TIME_MIN, TIME_MAX
    items = [
        timed_event("ends-at-min", lo - dt.timedelta(hours=1), 60),
        timed_event("ends-after-min", lo - dt.timedelta(hours=1), 61),
        timed_event("starts-at-max", hi, 30),
        timed_event("starts-before-max", hi - dt.timedelta(minutes=1), 30),
        timed_event("spans-all", lo - dt.timedelta(days=1), 60 * 24 * 500),
        timed_event("long-ago", lo - dt.timedelta(days=40)),
        timed_event("far-ahead", hi + dt.timedelta(days=40)),
        # 2025-07-02 00:00 in Tokyo is 2025-07-01T15:00Z, before timeMax (04:00Z on 07-02): in.
        all_day_event("tokyo-day", dt.date(2025, 7, 2)),
        all_day_event("tokyo-next", dt.date(2025, 7, 3)),  # 2025-07-02T15:00Z: out
    ]
    user = make_google_user(
        {
            "timeZone": "UTC",
            "calendars": [calendar_entry(PRIMARY, "Me", items, primary=True, timeZone="Asia/Tokyo")],
        }
    )
    expected = {"ends-after-min", "starts-before-max", "spans-all", "tokyo-day"}

    assert set(ids(user.fetch())) == expected
    assert set(ids(user.sync())) == expected  # the cached path filters alike


def test_holiday_and_birthday_calendars_only_when_included(google_user: GoogleUser) -> None:
    default = google_user.fetch()
    assert {c.id for c in default.dump.calendars} == {PRIMARY, WORK, KIDS}

    chosen = google_user.fetch(selection=CalendarSelection.of(include=["holidays in germany", BIRTHDAYS.upper()]))
    assert [c.id for c in chosen.dump.calendars] == [HOLIDAYS, BIRTHDAYS]
    assert ids(chosen) == ["xmas", "bday"]


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        ((), ("work",), {PRIMARY, KIDS}),  # by summary, any case
        ((), (WORK,), {PRIMARY, KIDS}),  # by id
        ((), ("kids",), {PRIMARY, WORK}),  # by the user's own name
        ((), ("School (shared)",), {PRIMARY, WORK}),  # by the original name
        (("primary",), (), {PRIMARY}),
        (("Work", "kids"), ("KIDS",), {WORK}),  # exclude wins
    ],
)
def test_include_exclude(
    google_user: GoogleUser, include: tuple[str, ...], exclude: tuple[str, ...], expected: set[str]
) -> None:
    result = google_user.fetch(selection=CalendarSelection.of(include, exclude))
    assert {c.id for c in result.dump.calendars} == expected
    assert result.stats.unmatched_names == []


def test_unmatched_names_are_reported_and_an_empty_include_fails(google_user: GoogleUser) -> None:
    result = google_user.fetch(selection=CalendarSelection.of(include=["work", "gym"], exclude=["nope"]))
    assert [c.id for c in result.dump.calendars] == [WORK]
    assert result.stats.unmatched_names == ["gym", "nope"]

    with pytest.raises(PermanentError, match="no Google calendar matches") as info:
        google_user.fetch(selection=CalendarSelection.of(include=["gym"]))
    assert "'Work'" in str(info.value)


def test_hidden_calendars_stay_out(make_google_user: Callable[..., GoogleUser]) -> None:
    dump: dict[str, Any] = {
        "timeZone": "UTC",
        "calendars": [
            calendar_entry(PRIMARY, "Me", [], primary=True),
            calendar_entry(WORK, "Work", [], hidden=True),
        ],
    }
    assert [c.id for c in make_google_user(dump).fetch().dump.calendars] == [PRIMARY]


@pytest.mark.parametrize(
    ("time_min", "time_max"),
    [(NOW.replace(tzinfo=None), TIME_MAX), (TIME_MAX, TIME_MIN), (TIME_MIN, TIME_MIN)],
)
def test_bad_window_is_invalid_input(google_user: GoogleUser, time_min: dt.datetime, time_max: dt.datetime) -> None:
    with pytest.raises(InvalidInput, match="time window"):
        google_user.fetch(time_min=time_min, time_max=time_max)
    assert google_user.requests() == []


def test_endpoint_without_trailing_slash(google_user: GoogleUser) -> None:
    result = google_user.fetch(api_endpoint=google_user.fake.base_url.rstrip("/"))
    assert result.stats.calendars == 3
