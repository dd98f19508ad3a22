"""Sample iCal calendars for the demo: a year of routine plus a few things that break it.

Generated relative to ``today`` so the demo always has upcoming novel events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from icalendar import Calendar, Event, vRecur

from novel_events.events import zone


@dataclass(frozen=True)
class SamplePerson:
    user_id: str
    email: str
    timezone: str
    schedule: str
    at: str
    day: str | None
    routine: tuple[tuple[str, str, str, int], ...]  # (title, BYDAY, HH:MM, minutes)
    novel: tuple[tuple[str, int, str, int, str], ...]  # (title, days ahead, HH:MM or "", minutes/days, location)


PEOPLE = (
    SamplePerson(
        "ada",
        "ada@example.org",
        "Europe/Berlin",
        "weekdays",
        "07:30",
        None,
        (
            ("Daily standup", "MO,TU,WE,TH,FR", "09:30", 15),
            ("Team planning", "MO", "11:00", 60),
            ("Climbing", "TU,TH", "19:00", 90),
        ),
        (
            ("Flight to Lisbon", 3, "08:10", 170, "BER Terminal 1"),
            ("Dentist", 5, "16:00", 45, "Praxis Dr. Weiss"),
            ("Web Summit", 4, "", 2, "Lisbon"),
        ),
    ),
    SamplePerson(
        "grace",
        "grace@example.org",
        "America/New_York",
        "daily",
        "06:45",
        None,
        (
            ("School run", "MO,TU,WE,TH,FR", "07:45", 30),
            ("Yoga", "WE,SA", "18:30", 60),
            ("1:1 with manager", "TH", "14:00", 30),
        ),
        (
            ("Parent-teacher conference", 2, "17:00", 30, "Lincoln Elementary"),
            ("Concert: Philharmonic", 6, "20:00", 150, "David Geffen Hall"),
        ),
    ),
    SamplePerson(
        "kenji",
        "kenji@example.org",
        "Asia/Tokyo",
        "weekly",
        "08:00",
        "mon",
        (("Morning walk", "MO,TU,WE,TH,FR,SA,SU", "06:30", 45), ("Go club", "SA", "14:00", 180)),
        (("Tax office appointment", 4, "10:00", 60, "Shibuya Ward Office"), ("Trip to Kyoto", 8, "", 3, "Kyoto")),
    ),
)


def build_ics(person: SamplePerson, today: dt.date) -> bytes:
    tz = zone(person.timezone)
    cal = Calendar()
    cal.add("prodid", "-//novel-events//samples//EN")
    cal.add("version", "2.0")
    cal.add("X-WR-CALNAME", f"{person.user_id.capitalize()}'s calendar")
    cal.add("X-WR-TIMEZONE", person.timezone)
    series_start = today - dt.timedelta(days=200)
    for i, (title, byday, hhmm, minutes) in enumerate(person.routine):
        h, m = map(int, hhmm.split(":"))
        ev = Event()
        ev.add("uid", f"routine-{i}-{person.user_id}@samples.novel-events")
        ev.add("summary", title)
        start = dt.datetime.combine(series_start, dt.time(h, m), tzinfo=tz)
        ev.add("dtstart", start)
        ev.add("dtend", start + dt.timedelta(minutes=minutes))
        ev.add("rrule", vRecur({"FREQ": "WEEKLY", "BYDAY": byday.split(",")}))
        cal.add_component(ev)
    for i, (title, ahead, hhmm, length, location) in enumerate(person.novel):
        ev = Event()
        ev.add("uid", f"novel-{i}-{person.user_id}@samples.novel-events")
        ev.add("summary", title)
        day = today + dt.timedelta(days=ahead)
        if hhmm:
            h, m = map(int, hhmm.split(":"))
            start = dt.datetime.combine(day, dt.time(h, m), tzinfo=tz)
            ev.add("dtstart", start)
            ev.add("dtend", start + dt.timedelta(minutes=length))
        else:
            ev.add("dtstart", day)
            ev.add("dtend", day + dt.timedelta(days=length))
        ev.add("location", location)
        cal.add_component(ev)
    return cal.to_ical()
