"""The novelty rules, one table row per situation (see novel_events/novelty/rules.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

# Each builder adds history and one upcoming event to a fresh calendar and returns that event.


def first_time(cal: Any) -> dict[str, Any]:
    cal.habit("Gym", hour=7)
    return cal.event("Tax advisor", cal.at(3, 10))


def rare(n: int) -> Any:
    def build(cal: Any) -> dict[str, Any]:
        for i in range(n):
            cal.event("Dentist – Dr. Walsh", cal.at(-100 * (i + 1), 8))
        return cal.event("Dentist – Dr. Walsh", cal.at(1, 8))

    build.__name__ = f"rare_{n}"
    return build


def habit_four_times(cal: Any) -> dict[str, Any]:
    for i in range(4):
        cal.event("Hair – Salon Bella", cal.at(-35 * (i + 1), 10))
    return cal.event("Hair – Salon Bella", cal.at(5, 10))


def old_history_does_not_count(cal: Any) -> dict[str, Any]:
    for i in range(6):
        cal.event("Conference", cal.at(-400 - 7 * i, 9))
    return cal.event("Conference", cal.at(5, 9))


def habit_variant_title(title: str) -> Any:
    def build(cal: Any) -> dict[str, Any]:
        cal.habit("Gym", weeks=25, hour=7)
        return cal.event(title, cal.at(3, 7))

    build.__name__ = f"habit_variant_{title}"
    return build


def habit_moved(cal: Any) -> dict[str, Any]:
    cal.habit("Study group", weeks=20, hour=19)  # always on the same weekday
    return cal.event("Study group", cal.at(1, 19))  # this time on another day


def teaching_varying_weekdays(cal: Any) -> dict[str, Any]:
    for i in range(40):
        cal.event("Teaching at MRU [COMM 2201]", cal.at(-3 - 4 * i - (i % 3), 14))
    return cal.event("Teaching at MRU [COMM 2201]", cal.at(2, 14))


def sprint_numbered(cal: Any) -> dict[str, Any]:
    for i in range(20):
        cal.event(f"Sprint {20 + i} retro", cal.at(-14 * (20 - i), 15))
    return cal.event("Sprint 40 retro", cal.at(4, 15))


def roster(cal: Any) -> dict[str, Any]:
    cid = cal.calendar("shifts@group.calendar.google.com", "Café – shifts")
    for i in range(60):
        cal.event("Shift @ Joe Coffee", cal.at(-2 - 5 * i, (7, 12, 16)[i % 3]), cal=cid)
    return cal.event("Shift @ Joe Coffee (cover)", cal.at(2, 16), cal=cid)


def emoji_variant_of_habit(cal: Any) -> dict[str, Any]:
    cal.habit("Call Mom", weeks=30, hour=18)
    cal.event("📞 Mom", cal.at(-50, 18))
    return cal.event("📞 Mom", cal.at(4, 18))


def special_edition_next_to_habit(cal: Any) -> dict[str, Any]:
    first = cal.at(-7 * 20 + 1, 13)
    cal.weekly("Bridge club", first, 23, series="bridgeclub")  # 20 past + 3 upcoming, on day 1, 8, 15
    return cal.event("Bridge club – holiday luncheon", cal.at(8, 12))


def similar_title_same_slot(cal: Any) -> dict[str, Any]:
    cal.weekly("Coffee with Alex", cal.at(-7 * 30 + 2, 8, 30), 32)
    return cal.event("Coffee with Alexandra (new PM)", cal.at(2, 8, 30))


def same_template_one_offs(cal: Any) -> dict[str, Any]:
    for i, vendor in enumerate(["Snyk", "Linear", "Retool", "Vercel", "Temporal", "Grafana", "Sentry"]):
        cal.event(f"Vendor demo: {vendor}", cal.at(-20 - 31 * i - (i % 4), 10))
    return cal.event("Vendor demo: Datadog", cal.at(3, 10))


def monthly_rotating_topic(cal: Any) -> dict[str, Any]:
    books = ["Orbital", "James", "Orbital", "The Overstory", "Demon Copperhead", "James", "Orbital"]
    for i, book in enumerate(books):
        cal.event(f"Book club: {book}", cal.at(-28 * (i + 1), 14))
    return cal.event("Book club: Intermezzo", cal.at(6, 14))


def outings_with_different_people(cal: Any) -> dict[str, Any]:
    for i, who in enumerate(["Tom & Diego", "Mei & Rohan", "Jamal & Hana", "Chloe & Malik", "Ravi & Jo"]):
        cal.event(f"Drinks w/ {who}", cal.at(-30 * (i + 1), 19))
    return cal.event("Drinks w/ Alex & Maya", cal.at(2, 19))


def habit_with_company(cal: Any) -> dict[str, Any]:
    cal.habit("Bouldering", weeks=20, hour=19)
    return cal.event("Bouldering w/ Jonas", cal.at(2, 19))


def series_seen(cal: Any) -> dict[str, Any]:
    evs = cal.weekly("Team sync", cal.at(-70, 11), 12, series="teamsync")
    return evs[-1]


def series_moved_and_retitled(cal: Any) -> dict[str, Any]:
    cal.weekly("Piano – Emma", cal.at(-70, 16), 10, series="piano")
    return cal.event("Piano lesson (moved)", cal.at(2, 17), series="piano")


def series_foreign_dst_shift(cal: Any) -> dict[str, Any]:
    # a weekly call kept in Chicago time: in Phoenix (no DST) it moves by an hour in November
    first = dt.datetime(2025, 9, 7, 16, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    evs = cal.weekly("Video call with grandkids", first, 12, series="grandkids", zone="America/Chicago")
    return evs[-1]


def new_series_first(cal: Any) -> dict[str, Any]:
    evs = cal.weekly("Payments migration – weekly sync", cal.at(1, 16), 3, series="payments")
    return evs[0]


def new_series_later(cal: Any) -> dict[str, Any]:
    evs = cal.weekly("Payments migration – weekly sync", cal.at(1, 16), 3, series="payments")
    return evs[1]


def series_recreated(cal: Any) -> dict[str, Any]:
    cal.weekly("Daily Standup", cal.at(-70, 9, 30), 10, series="standup-v1")
    return cal.weekly("Daily Standup", cal.at(1, 9, 30), 2, series="standup-v2")[0]


def seasonal_series_restart(cal: Any) -> dict[str, Any]:
    cal.weekly("Soccer practice", cal.at(-200, 17), 12, series="soccer-spring")
    return cal.weekly("Soccer practice", cal.at(2, 17), 2, series="soccer-fall")[0]


def abroad(cal: Any) -> dict[str, Any]:
    return cal.event("Talk: Data contracts", cal.at(3, 14), zone="Europe/Lisbon")


def routine_title_abroad(cal: Any) -> dict[str, Any]:
    cal.habit("Gym", weeks=25, hour=7)
    return cal.event("Gym", cal.at(3, 8), zone="Asia/Tokyo")


def familiar_zone_is_not_travel(cal: Any) -> dict[str, Any]:
    """A remote team's zone is no trip: a routine title set there is still routine."""
    cal.habit("Gym", weeks=25, hour=7)
    for i in range(30):
        cal.event(f"Sync #{i}", cal.at(-3 - 7 * i, 16), zone="America/New_York")
    return cal.event("Gym", cal.at(2, 7), zone="America/New_York")


def utc_zone_is_not_travel(cal: Any) -> dict[str, Any]:
    cal.habit("Gym", weeks=25, hour=7)
    return cal.event("Gym", cal.at(3, 7), zone="UTC")


def all_day_trip(cal: Any) -> dict[str, Any]:
    ev = cal.all_day("Stockholm", cal.at(3).date(), days=3)
    cal.event("Stay at Hotel Diplomat", cal.at(3, 15), zone="Europe/Stockholm")
    return ev


TEAM = ["ana@example.com", "bo@example.com", "cy@example.com"]


def group_habit_with_changing_titles(cal: Any) -> dict[str, Any]:
    for i in range(12):
        cal.event(f"Topic {chr(65 + i)} deep-dive", cal.at(-7 * (i + 1), 15), people=TEAM)
    return cal.event("Roadmap", cal.at(2, 15), people=TEAM)


def group_special_next_to_habit(cal: Any) -> dict[str, Any]:
    for i in range(12):
        cal.event(f"Topic {chr(65 + i)} deep-dive", cal.at(-7 * (i + 1), 15), people=TEAM)
    cal.event("Topic M deep-dive", cal.at(2, 15), people=TEAM)
    return cal.event("Team dinner", cal.at(2, 16), people=TEAM)


def new_person(cal: Any) -> dict[str, Any]:
    return cal.event("Customer call: Meridian", cal.at(2, 15), people=["dana@acme.com"])


RULES = [
    # (builder, novel?, first reason contains)
    (first_time, True, "first time in your calendar"),
    (rare(1), True, "only once in the past year"),
    (rare(2), True, "only twice in the past year"),
    (rare(3), True, "only 3 times in the past year"),
    (habit_four_times, False, None),
    (old_history_does_not_count, True, "first time"),
    (habit_variant_title("gym 🏋️"), False, None),
    (habit_variant_title("GYM"), False, None),
    (habit_variant_title("Gym w/ Sam"), False, None),
    (habit_variant_title("Gym (legs)"), False, None),
    (habit_variant_title("Gym – legs"), False, None),
    (habit_moved, False, None),
    (teaching_varying_weekdays, False, None),
    (sprint_numbered, False, None),
    (roster, False, None),
    (emoji_variant_of_habit, False, None),
    (special_edition_next_to_habit, True, "first time"),
    (similar_title_same_slot, True, "first time"),
    (same_template_one_offs, True, "first time"),
    (monthly_rotating_topic, False, None),
    (outings_with_different_people, True, "first time"),
    (habit_with_company, False, None),
    (series_seen, False, None),
    (series_moved_and_retitled, False, None),
    (series_foreign_dst_shift, False, None),
    (new_series_first, True, "new weekly series starts"),
    (new_series_later, False, None),
    (series_recreated, False, None),
    (seasonal_series_restart, True, "weekly series starts again"),
    (abroad, True, "first time"),
    (routine_title_abroad, True, "in Tokyo time (UTC+9)"),
    (utc_zone_is_not_travel, False, None),
    (familiar_zone_is_not_travel, False, None),
    (all_day_trip, True, "first time"),
    (new_person, True, "first time"),
    (group_habit_with_changing_titles, False, None),
    (group_special_next_to_habit, True, "first time"),
]


@pytest.mark.parametrize(("build", "novel", "reason"), RULES, ids=[b.__name__ for b, *_ in RULES])
def test_rule(make_cal: Any, build: Any, novel: bool, reason: str | None) -> None:
    cal = make_cal(tz="America/Phoenix" if build is series_foreign_dst_shift else "Europe/Berlin")
    if build is series_foreign_dst_shift:
        cal.now = dt.datetime(2025, 11, 3, 6, 30, tzinfo=cal.zone)
    ev = build(cal)
    found = cal.verdict(ev)
    assert (found is not None) is novel, found
    if found is not None:
        assert 0.0 <= found.score <= 1.0
        assert 1 <= len(found.reasons) <= 3
        assert reason is not None
        assert any(reason in r for r in found.reasons), found.reasons


def test_rare_ranks_below_first_time(make_cal: Any) -> None:
    cal = make_cal()
    cal.event("Dentist", cal.at(-100, 8))
    once = cal.event("Dentist", cal.at(1, 8))
    never = cal.event("Notary", cal.at(2, 8))
    scores = {n.event_id: n.score for n in cal.run()}
    assert scores[never["id"]] > scores[once["id"]]


def test_travel_reasons(make_cal: Any) -> None:
    cal = make_cal()
    trip = all_day_trip(cal)
    talk = cal.event("Talk", cal.at(4, 10), zone="Europe/Stockholm", people=["dana@acme.com"])
    reasons = {n.event_id: n.reasons for n in cal.run()}
    assert "all-day trip" in reasons[trip["id"]]
    assert reasons[talk["id"]] == (
        "first time in your calendar",
        "in Stockholm time (UTC+2)",
        "first meeting with dana@acme.com",
    )


def test_all_day_without_travel_says_all_day(make_cal: Any) -> None:
    cal = make_cal()
    ev = cal.all_day("Grandkids visiting", cal.at(3).date(), days=4)
    found = cal.verdict(ev)
    assert found is not None
    assert "all-day, 4 days" in found.reasons


def test_people_seen_before_are_not_new(make_cal: Any) -> None:
    cal = make_cal()
    cal.event("Intro", cal.at(-30, 10), people=["dana@acme.com"])
    ev = cal.event("Contract review", cal.at(2, 10), people=["dana@acme.com", "eve@acme.com"])
    found = cal.verdict(ev)
    assert found is not None
    assert found.reasons[-1] == "first meeting with eve@acme.com"


def test_twice_weekly_series_reason(make_cal: Any) -> None:
    cal = make_cal()
    cal.weekly("Econometrics", cal.at(1, 11), 4, series="econ")
    cal.weekly("Econometrics", cal.at(3, 11), 4, series="econ")
    found = cal.run()
    assert [n.reasons[0] for n in found] == ["new twice-weekly series starts"]
