"""Real-world iCal quirks (tests/data/ics/, see its README): every readable event read, with the exact
instances (UTC start, all-day, id) and the problems a person is told about; hostile feeds bounded by
instance counts and rule steps, not by timing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from novel_events.errors import PermanentError
from novel_events.sources.ics import read_calendar
from novel_events.sources.ics_expand import Budget
from novel_events.sources.ics_rules import RuleError, parse_rule

DATA = Path(__file__).resolve().parents[1] / "data" / "ics"
START, END = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
USER_TZ = "Europe/Berlin"

Row = tuple[str, bool, str]  # (UTC start 'YYYYMMDDTHHMMSSZ' or date 'YYYY-MM-DD', all-day, id)


def _row(event: dict[str, Any]) -> Row:
    start = event["start"]
    if "date" in start:
        return (start["date"], True, event["id"])
    utc = dt.datetime.fromisoformat(start["dateTime"]).astimezone(dt.UTC)
    return (utc.strftime("%Y%m%dT%H%M%SZ"), False, event["id"])


def _read(name: str, budget: Budget | None = None) -> tuple[list[dict[str, Any]], list[Any]]:
    result = read_calendar((DATA / name).read_bytes(), start=START, end=END, user_tz=USER_TZ, budget=budget)
    return result.dump.calendars[0].items, result.problems


def _series(uid: str, *stamps: str) -> list[Row]:
    return [(s, False, f"{uid}_{s}") for s in stamps]


CASES: list[tuple[str, list[Row], list[tuple[str, bool]]]] = [
    # (file, exact instances in order, problems as (text it contains, lost data?))
    ("multi_vcalendar.ics", [("2026-01-01", True, "holiday-new-year"), ("2026-01-06", True, "holiday-epiphany")], []),
    ("rdate_only.ics", _series("notes-rdate-series", "20260302T080000Z", "20260309T080000Z", "20260330T070000Z"), []),
    (
        "recurrence_id_override.ics",
        [
            ("20260202T100000Z", False, "weekly-sync_20260202T100000Z"),
            ("20260210T150000Z", False, "weekly-sync_20260209T100000Z"),
            ("20260216T100000Z", False, "weekly-sync_20260216T100000Z"),
            ("20260223T100000Z", False, "weekly-sync_20260223T100000Z"),
        ],
        [],
    ),
    ("exdate.ics", _series("standup", "20260406T110000Z", "20260408T110000Z", "20260410T110000Z"), []),
    ("date_with_tzid.ics", [("2026-05-01", True, "may-day")], []),
    ("date_start_datetime_end.ics", [("2026-06-01", True, "conference")], []),
    ("x_wr_timezone_lowercase.ics", [("20260701T110000Z", False, "floating-lunch")], []),
    ("x_wr_timezone_windows.ics", [("20260701T100000Z", False, "floating-lunch")], []),
    (
        "x_wr_timezone_unknown.ics",
        [("20260701T100000Z", False, "floating-lunch")],
        [
            (
                "X-WR-TIMEZONE 'Mars/Olympus_Mons' is not a known time zone; times without a zone are read in "
                "Europe/Berlin",
                False,
            )
        ],
    ),
    ("x_wr_timezone_empty.ics", [("20260701T100000Z", False, "floating-lunch")], []),
    ("alarm_negative_trigger.ics", [("20260805T080000Z", False, "dentist")], []),
    ("bad_freebusy.ics", [("20260910T080000Z", False, "team-offsite"), ("20260917T130000Z", False, "demo-day")], []),
    ("dtstamp_typo.ics", [("20261005T090000Z", False, "planning")], []),
    (
        "no_dtstart.ics",
        [("20261106T090000Z", False, "review-1")],
        [("event 'Board meeting' (UID board-1) has no start; skipped", True)],
    ),
    (
        "several_rrules.ics",
        _series(
            "zimbra-two-rules",
            "20260302T170000Z",
            "20260304T170000Z",
            "20260309T170000Z",
            "20260311T170000Z",
            "20260316T170000Z",
        ),
        [],
    ),
    (
        "byday_with_spaces.ics",
        _series("exchange-spaces", "20260302T140000Z", "20260303T140000Z", "20260309T140000Z", "20260310T140000Z"),
        [],
    ),
    (
        "ical_1_0.ics",
        _series("vcal-1", "20260303T110000Z"),
        [
            (
                "event 'Team lunch' (UID vcal-1) RRULE 'W1 TU #3' is not in RFC 5545 form (iCal 1.0?); that rule is "
                "ignored",
                True,
            )
        ],
    ),
    ("birthday_unknown_year.ics", [("2026-03-15", True, "birthday-ana_20260315")], []),
    (
        "until_typo.ics",
        _series("until-typo", "20260112T180000Z"),
        [("RRULE 'FREQ=WEEKLY;UNTL=20260301' has an unknown part 'UNTL'; that rule is ignored", True)],
    ),
    (
        "rrule_with_recurrence_id.ics",
        _series("monthly-split", "20260105T090000Z", "20260205T090000Z", "20260305T090000Z"),
        [],
    ),
    (
        "dtend_none.ics",
        _series("dtend-none", "20260415T100000Z", "20260422T100000Z"),
        [("has an unreadable DTEND 'None'; read as ending when it starts", False)],
    ),
    (
        "updated_series_deleted_change.ics",
        [("2026-03-02", True, "reading-group_20260302"), ("2026-04-13", True, "reading-group_20260413")],
        [],
    ),
    (
        "this_and_future.ics",
        [
            ("20260901T120000Z", False, "course_20260901T120000Z"),
            ("20260902T120000Z", False, "course_20260902T120000Z"),
            ("20260903T090000Z", False, "course_20260903T120000Z"),
            ("20260904T090000Z", False, "course_20260904T120000Z"),
        ],
        [],
    ),
    ("google_birthday_rdate.ics", [("2026-12-10", True, "2026_BIRTHDAY_ana@example.org_20261210")], []),
    (
        "dense_short_series.ics",
        _series(
            "sprint-slots",
            "20260910T140000Z",
            "20260910T141500Z",
            "20260910T143000Z",
            "20260910T144500Z",
            "20260910T150000Z",
            "20260910T151500Z",
        ),
        [],
    ),
    ("hostile_centuries_old.ics", [], []),  # instances checked below (365 of them)
    (
        "hostile_byyearday_bomb.ics",
        [("20261201T100000Z", False, "real-one")],
        [("event 'bomb' (UID yearday-bomb) RRULE", True)],
    ),
    (
        "hostile_bymonth_bomb.ics",
        [("20261201T100000Z", False, "real-one")],
        [("event 'bomb' (UID month-bomb) RRULE", True)],
    ),
    (
        "hostile_count_from_long_ago.ics",
        [("20261201T100000Z", False, "real-one")],
        [("instances from its start (more than 20,000); that rule is ignored", True)],
    ),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("name", "expected", "problems"), CASES, ids=[c[0] for c in CASES])
def test_quirk_reads_exactly_the_expected_instances(
    name: str, expected: list[Row], problems: list[tuple[str, bool]]
) -> None:
    items, found = _read(name)
    if name != "hostile_centuries_old.ics":
        assert [_row(e) for e in items] == expected
    assert len(found) == len(problems), [str(p) for p in found]
    for (text, lost), problem in zip(problems, found, strict=True):
        assert text in str(problem)
        assert problem.skipped is lost


def test_every_quirk_file_is_in_the_table() -> None:
    listed = {c[0] for c in CASES} | {"hostile_hourly_x5.ics"}
    assert {p.name for p in DATA.glob("*.ics")} == listed


def test_all_day_stays_all_day_with_a_date_end() -> None:
    (conference,), _ = _read("date_start_datetime_end.ics")
    assert conference["start"] == {"date": "2026-06-01"} and conference["end"] == {"date": "2026-06-03"}
    (may_day,), _ = _read("date_with_tzid.ics")
    assert may_day["end"] == {"date": "2026-05-02"}


def test_overrides_replace_their_instance_and_keep_its_id() -> None:
    items, _ = _read("recurrence_id_override.ics")
    by_id = {e["id"]: e for e in items}
    moved = by_id["weekly-sync_20260209T100000Z"]
    assert moved["summary"] == "Weekly sync (moved)" and moved["recurringEventId"] == "weekly-sync"
    assert moved["originalStartTime"]["dateTime"].startswith("2026-02-09T10:00:00")
    assert by_id["weekly-sync_20260216T100000Z"]["status"] == "cancelled"
    assert {e["status"] for e in items} == {"confirmed", "cancelled"}


def test_series_from_1700_is_walked_from_the_window_not_from_its_start() -> None:
    budget = Budget()
    items, problems = _read("hostile_centuries_old.ics", budget)
    assert problems == []
    assert len(items) == 365 and len({e["id"] for e in items}) == 365
    assert items[0]["id"] == "since-1700_20260101T080000Z" and items[-1]["id"] == "since-1700_20261231T080000Z"
    assert budget.steps < 400  # from 1700 it would be over 118,000 steps


def test_bombs_are_refused_before_any_expansion_work() -> None:
    for name in ("hostile_byyearday_bomb.ics", "hostile_bymonth_bomb.ics", "hostile_count_from_long_ago.ics"):
        budget = Budget()
        _read(name, budget)
        assert budget.steps == 0, name


@pytest.mark.timeout(60)
def test_five_hourly_series_fail_the_feed_at_the_instance_cap() -> None:
    budget = Budget()
    with pytest.raises(PermanentError, match="more than 20,000 events in the window"):
        _read("hostile_hourly_x5.ics", budget)
    assert budget.instances > 20_000
    assert budget.steps < 20_500  # stopped at the cap while walking (+ 2 days of slack per series), not after all


def test_a_small_instance_cap_applies_to_the_whole_feed() -> None:
    with pytest.raises(PermanentError, match="more than 1 events"):
        _read("bad_freebusy.ics", Budget(max_instances=1))


def test_the_time_budget_is_one_per_feed() -> None:
    with pytest.raises(PermanentError, match="took more than 0 s"):
        _read("hostile_centuries_old.ics", Budget(seconds=0))


@pytest.mark.parametrize("rule", ["FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=YEARLY;BYMONTH=4,6;BYMONTHDAY=31,-31"])
def test_rules_that_can_never_happen_are_refused_before_any_step(rule: str) -> None:
    with pytest.raises(RuleError, match="can never happen"):
        parse_rule(rule)
    assert parse_rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29").freq == "YEARLY"  # leap days do happen
