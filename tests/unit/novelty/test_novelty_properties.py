"""Properties of the analysis, checked with hypothesis on generated calendars.

* more history never makes an event more novel;
* moving every event and ``now`` by the same number of days changes nothing;
* writing the same instants with other UTC offsets changes nothing;
* no event dict, however odd, crashes the analysis.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from novel_events.events import CalendarData, CalendarDump
from novel_events.novelty import NoveltyPrefs, analyze, assess_upcoming

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
NOW_LOCAL = dt.datetime(2025, 6, 18, 6, 0)
TITLES = [
    "Gym",
    "gym 🏋️",
    "Gym w/ Sam",
    "Gym – legs",
    "Call Mom",
    "📞 Mom",
    "Book club: Orbital",
    "Book club: James",
    "Vendor demo: Snyk",
    "Sprint 12 review",
    "Sprint 13 review",
    "Dentist",
    "Café crème",
    "Flight to Lisbon (TP 123)",
    "",
]
PEOPLE = ["ana@example.com", "bo@acme.com", "cy@example.org"]
ANY_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "America/Sao_Paulo"]
STEADY_ZONES = ["UTC", "Asia/Tokyo", "America/Phoenix", "Asia/Kolkata"]  # no DST

spec = st.fixed_dictionaries(
    {
        "title": st.sampled_from(TITLES),
        "day": st.integers(-370, -1) | st.integers(0, 15),
        "minute": st.integers(0, 24 * 60 - 1).map(lambda m: m - m % 15),
        "length": st.sampled_from([30, 60, 90]),
        "series": st.sampled_from([None, None, None, "s1", "s2"]),
        "zone": st.sampled_from([None, None, None, "Europe/Lisbon", "Asia/Tokyo"]),
        "people": st.lists(st.sampled_from(PEOPLE), max_size=2, unique=True),
        "declined": st.sampled_from([False, False, False, True]),
        "calendar": st.sampled_from(["me@example.com", "me@example.com", "family@group.calendar.google.com"]),
    }
)
all_day_spec = st.fixed_dictionaries(
    {
        "title": st.sampled_from(["Trip to Porto", "Offsite", "Moving day", "Gym"]),
        "day": st.integers(-370, 15),
        "days": st.integers(1, 4),
        "calendar": st.just("me@example.com"),
    }
)


def build_dump(tz: str, specs: list[dict[str, Any]], all_days: list[dict[str, Any]], *, steady: bool) -> CalendarDump:
    """A dump in zone ``tz`` from event specs (days relative to NOW_LOCAL's date)."""
    zone = ZoneInfo(tz)
    cals: dict[str, CalendarData] = {
        "me@example.com": CalendarData(id="me@example.com", summary="Me", time_zone=tz, primary=True),
        "family@group.calendar.google.com": CalendarData(
            id="family@group.calendar.google.com", summary="Family", time_zone=tz
        ),
    }
    for i, s in enumerate(specs):
        d = NOW_LOCAL.date() + dt.timedelta(days=s["day"])
        start = dt.datetime(d.year, d.month, d.day, tzinfo=zone) + dt.timedelta(minutes=s["minute"])
        ev_zone = s["zone"] if not steady or s["zone"] in (None, "Asia/Tokyo") else "Asia/Tokyo"
        ev_zone = ev_zone or tz
        local = start.astimezone(ZoneInfo(ev_zone))
        ev: dict[str, Any] = {
            "id": f"{s['series'] or 'e'}_{i}",
            "status": "confirmed",
            "summary": s["title"],
            "start": {"dateTime": local.isoformat(), "timeZone": ev_zone},
            "end": {"dateTime": (local + dt.timedelta(minutes=s["length"])).isoformat(), "timeZone": ev_zone},
        }
        if s["series"]:
            ev["recurringEventId"] = s["series"]
        if s["people"] or s["declined"]:
            ev["attendees"] = [{"email": p} for p in s["people"]] + [
                {
                    "email": "me@example.com",
                    "self": True,
                    "responseStatus": "declined" if s["declined"] else "accepted",
                }
            ]
        cals[s["calendar"]].items.append(ev)
    for i, s in enumerate(all_days):
        d = NOW_LOCAL.date() + dt.timedelta(days=s["day"])
        cals[s["calendar"]].items.append(
            {
                "id": f"d_{i}",
                "summary": s["title"],
                "start": {"date": d.isoformat()},
                "end": {"date": (d + dt.timedelta(days=s["days"])).isoformat()},
            }
        )
    return CalendarDump(time_zone=tz, calendars=list(cals.values()))


def scores(dump: CalendarDump, now: dt.datetime) -> dict[tuple[str, str], float]:
    return {
        (f.calendar_id, f.event_id): a.score
        for f, a in assess_upcoming(dump, now=now, prefs=NoveltyPrefs(lookahead_days=14))
    }


def result(dump: CalendarDump, now: dt.datetime, sensitivity: str = "high") -> list[tuple[Any, ...]]:
    prefs = NoveltyPrefs(lookahead_days=14, sensitivity=sensitivity)
    return [(n.calendar_id, n.event_id, n.score, n.reasons, n.all_day) for n in analyze(dump, now=now, prefs=prefs)]


@PROPERTY_SETTINGS
@given(
    tz=st.sampled_from(ANY_ZONES),
    specs=st.lists(spec, min_size=1, max_size=30),
    all_days=st.lists(all_day_spec, max_size=4),
    pick=st.integers(0, 10_000),
    back=st.integers(1, 364 * 24 * 4),
    same_series=st.booleans(),
)
def test_a_past_occurrence_never_makes_an_event_more_novel(
    tz: str,
    specs: list[dict[str, Any]],
    all_days: list[dict[str, Any]],
    pick: int,
    back: int,
    same_series: bool,
) -> None:
    dump = build_dump(tz, specs, all_days, steady=False)
    now = NOW_LOCAL.replace(tzinfo=ZoneInfo(tz))
    before = scores(dump, now)
    if not before:
        return
    key = sorted(before)[pick % len(before)]
    cal = next(c for c in dump.calendars if c.id == key[0])
    target = next(e for e in cal.items if e["id"] == key[1])
    # the same event (title, people, zone, series), some time in the past year
    past = copy.deepcopy(target)
    past["id"] = f"{target['id']}_past"
    if not same_series:
        past.pop("recurringEventId", None)
    shift = dt.timedelta(minutes=15 * back)
    for edge in ("start", "end"):
        when = past[edge]
        if "dateTime" in when:
            t = dt.datetime.fromisoformat(when["dateTime"]) - (
                dt.datetime.fromisoformat(target["start"]["dateTime"]) - now
            )
            when["dateTime"] = (t - shift).isoformat()
        else:
            d = dt.date.fromisoformat(when["date"]) - (dt.date.fromisoformat(target["start"]["date"]) - now.date())
            when["date"] = (d - dt.timedelta(days=1 + back // 96)).isoformat()
    cal.items.append(past)
    after = scores(dump, now)
    assert after[key] <= before[key], (target, past, before[key], after[key])


@PROPERTY_SETTINGS
@given(
    tz=st.sampled_from(STEADY_ZONES),
    specs=st.lists(spec, max_size=30),
    all_days=st.lists(all_day_spec, max_size=4),
    days=st.integers(-3000, 3000),
)
def test_moving_everything_by_whole_days_changes_nothing(
    tz: str, specs: list[dict[str, Any]], all_days: list[dict[str, Any]], days: int
) -> None:
    zone = ZoneInfo(tz)
    now = NOW_LOCAL.replace(tzinfo=zone)
    dump = build_dump(tz, specs, all_days, steady=True)
    moved = copy.deepcopy(dump)
    delta = dt.timedelta(days=days)
    for cal in moved.calendars:
        for ev in cal.items:
            for edge in ("start", "end"):
                when = ev[edge]
                if "dateTime" in when:
                    when["dateTime"] = (dt.datetime.fromisoformat(when["dateTime"]) + delta).isoformat()
                else:
                    when["date"] = (dt.date.fromisoformat(when["date"]) + delta).isoformat()
    assert result(moved, now + delta) == result(dump, now)


@PROPERTY_SETTINGS
@given(
    tz=st.sampled_from(ANY_ZONES),
    specs=st.lists(spec, max_size=30),
    all_days=st.lists(all_day_spec, max_size=4),
    offsets=st.lists(st.integers(-12 * 4, 14 * 4), min_size=1, max_size=5),
)
def test_other_utc_offsets_for_the_same_instants_change_nothing(
    tz: str, specs: list[dict[str, Any]], all_days: list[dict[str, Any]], offsets: list[int]
) -> None:
    now = NOW_LOCAL.replace(tzinfo=ZoneInfo(tz))
    dump = build_dump(tz, specs, all_days, steady=False)
    rewritten = copy.deepcopy(dump)
    i = 0
    for cal in rewritten.calendars:
        for ev in cal.items:
            for edge in ("start", "end"):
                when = ev[edge]
                if "dateTime" in when:
                    offset = dt.timezone(dt.timedelta(minutes=15 * offsets[i % len(offsets)]))
                    when["dateTime"] = dt.datetime.fromisoformat(when["dateTime"]).astimezone(offset).isoformat()
                    i += 1
    other_now = now.astimezone(dt.timezone(dt.timedelta(minutes=15 * offsets[0])))
    assert result(rewritten, other_now) == result(dump, now)


json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
when_value = st.one_of(
    json_value,
    st.fixed_dictionaries(
        {"dateTime": st.one_of(st.datetimes(timezones=st.just(dt.UTC)).map(dt.datetime.isoformat), json_value)},
        optional={"timeZone": st.sampled_from(["Europe/Berlin", "Nope/Nope", "", "UTC"]) | json_value},
    ),
    st.fixed_dictionaries({"date": st.one_of(st.dates().map(dt.date.isoformat), json_value)}),
)
odd_event = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=6), json_value),
        "summary": json_value,
        "status": st.sampled_from(["confirmed", "cancelled", "tentative"]) | json_value,
        "eventType": st.sampled_from(["default", "focusTime", "birthday"]) | json_value,
        "start": when_value,
        "end": when_value,
        "recurringEventId": json_value,
        "attendees": st.lists(
            st.fixed_dictionaries({}, optional={"email": json_value, "self": json_value, "responseStatus": json_value})
            | json_value,
            max_size=3,
        )
        | json_value,
        "organizer": json_value,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(odd_event | json_value, max_size=12), tz=st.sampled_from(ANY_ZONES))
def test_odd_event_dicts_never_crash(items: list[Any], tz: str) -> None:
    dump = CalendarDump(time_zone=tz, calendars=[CalendarData(id="me@example.com", items=items)])
    for n in analyze(dump, now=NOW_LOCAL.replace(tzinfo=ZoneInfo(tz)), prefs=NoveltyPrefs(sensitivity="high")):
        assert 0.0 <= n.score <= 1.0
        assert 1 <= len(n.reasons) <= 3
