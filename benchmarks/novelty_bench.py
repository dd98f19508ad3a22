"""Novelty analysis speed and memory on synthetic heavy calendars.

    .venv/bin/python benchmarks/novelty_bench.py                 # 1k, 5k, 10k, 20k events
    .venv/bin/python benchmarks/novelty_bench.py --sizes 1000,50000 --repeat 5

Generates a year of history plus 14 days ahead (weekly series, habits with variant titles,
one-offs from templates, trips in other zones, all-day and declined events, working locations),
times :func:`novel_events.novelty.analyze` (best of ``--repeat``, one core), measures its peak
Python memory with tracemalloc (a separate run), and compares with a naive baseline that compares
every upcoming event with every other event (all pairs, word-overlap similarity). The baseline is
timed on at most ``--baseline-sample`` upcoming events and extrapolated to all of them.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import time
import tracemalloc
from typing import Any
from zoneinfo import ZoneInfo

from instrument import best_of, describe, print_table  # benchmarks/ is on sys.path when run as a script

from novel_events.events import CalendarData, CalendarDump
from novel_events.novelty import NoveltyPrefs, analyze
from novel_events.novelty.normalize import title_keys

TZ = "Europe/Berlin"
NOW = dt.datetime(2025, 6, 18, 6, 0, tzinfo=ZoneInfo(TZ))
LOOKAHEAD = 14
WORDS = (
    "alpha",
    "bravo",
    "cedar",
    "delta",
    "ember",
    "fjord",
    "gala",
    "harbor",
    "iris",
    "jade",
    "kilo",
    "lumen",
    "maple",
    "nova",
    "onyx",
    "pine",
    "quartz",
    "raven",
    "sierra",
    "tango",
    "umber",
    "vega",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
)
HABITS = ("Gym", "Call Mom", "Laundry", "Bouldering", "Study group", "Coffee with Alex", "Piano practice")
VARIANTS = ("{t}", "{t} 🏋️", "{t} w/ Sam", "{t} (me)", "{t} – extra", "{t}".lower())
TEMPLATES = (
    "Vendor demo: {w}",
    "Customer call: {w}",
    "Lunch with {w}",
    "Dinner with {w} & {v}",
    "Concert: {w}",
)
ZONES = ("Europe/Lisbon", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Europe/Madrid")


def _when(at: dt.datetime, zone_name: str = TZ) -> dict[str, str]:
    return {"dateTime": at.astimezone(ZoneInfo(zone_name)).isoformat(), "timeZone": zone_name}


def _event(eid: str, title: str, start: dt.datetime, minutes: int = 60, **extra: Any) -> dict[str, Any]:
    zone_name = extra.pop("zone", TZ)
    return {
        "kind": "calendar#event",
        "id": eid,
        "status": "confirmed",
        "summary": title,
        "eventType": "default",
        "start": _when(start, zone_name),
        "end": _when(start + dt.timedelta(minutes=minutes), zone_name),
        **extra,
    }


def synthetic_dump(n_events: int, seed: int = 7) -> CalendarDump:
    """About ``n_events`` events over [NOW - 365 days, NOW + LOOKAHEAD days)."""
    rng = random.Random(seed)
    tz = ZoneInfo(TZ)
    first_day = (NOW - dt.timedelta(days=365)).date()
    days = 365 + LOOKAHEAD
    items: list[dict[str, Any]] = []

    def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
        d = first_day + dt.timedelta(days=day)
        return dt.datetime(d.year, d.month, d.day, hour, minute, tzinfo=tz)

    n_series = max(1, n_events // 2 // 53)
    for s in range(n_series):
        sid = f"series{s:05d}"
        weekday, hour = rng.randrange(5), rng.randrange(8, 18)
        begin = rng.choice((0, 0, 0, rng.randrange(days)))
        people: list[dict[str, Any]] = [
            {"email": f"p{rng.randrange(5 * n_series + 5)}@example.com"} for _ in range(rng.randrange(1, 6))
        ]
        people.append({"email": "me@example.com", "self": True, "responseStatus": "accepted"})
        for day in range(begin, days):
            if (first_day + dt.timedelta(days=day)).weekday() != weekday:
                continue
            attendees = [dict(a) for a in people]
            if rng.random() < 0.05:
                attendees[-1]["responseStatus"] = "declined"
            items.append(
                _event(
                    f"{sid}_{day}",
                    f"Team sync {s}",
                    local(day, hour),
                    recurringEventId=sid,
                    attendees=attendees,
                )
            )
    n_habit = n_events // 4
    for i in range(n_habit):
        title = rng.choice(HABITS)
        variant = rng.choice(VARIANTS).format(t=title) if rng.random() < 0.2 else title
        items.append(_event(f"habit{i:06d}", variant, local(rng.randrange(days), rng.choice((7, 8, 18, 19)))))
    n_oneoff = n_events // 5
    for i in range(n_oneoff):
        w, v = rng.choice(WORDS) + str(i), rng.choice(WORDS)
        title = rng.choice(TEMPLATES).format(w=w, v=v)
        zone_name = rng.choice(ZONES) if rng.random() < 0.05 else TZ
        items.append(_event(f"oneoff{i:06d}", title, local(rng.randrange(days), rng.randrange(8, 21)), zone=zone_name))
    i = 0
    while len(items) < n_events:
        day = rng.randrange(days)
        d = first_day + dt.timedelta(days=day)
        kind = rng.random()
        if kind < 0.5:
            items.append(
                {
                    "id": f"wl{i:06d}",
                    "status": "confirmed",
                    "summary": "Home",
                    "eventType": "workingLocation",
                    "start": {"date": d.isoformat()},
                    "end": {"date": (d + dt.timedelta(days=1)).isoformat()},
                }
            )
        elif kind < 0.8:
            items.append(_event(f"focus{i:06d}", "Focus time", local(day, 13), 120, eventType="focusTime"))
        else:
            items.append(
                {
                    "id": f"trip{i:06d}",
                    "status": "confirmed",
                    "summary": f"Trip to {rng.choice(WORDS).title()}",
                    "start": {"date": d.isoformat()},
                    "end": {"date": (d + dt.timedelta(days=3)).isoformat()},
                }
            )
        i += 1
    rng.shuffle(items)
    return CalendarDump(
        time_zone=TZ,
        calendars=[CalendarData(id="me@example.com", summary="Me", time_zone=TZ, items=items[:n_events])],
    )


def naive_baseline(dump: CalendarDump, *, sample: int) -> tuple[float, int]:
    """Seconds for all-pairs word-overlap comparison of upcoming events, extrapolated; and #upcoming."""
    events = [e for c in dump.calendars for e in c.items]
    until = NOW + dt.timedelta(days=LOOKAHEAD)

    def start_of(e: dict[str, Any]) -> dt.datetime | None:
        v = e.get("start") or {}
        if v.get("dateTime"):
            return dt.datetime.fromisoformat(v["dateTime"])
        return None

    upcoming = [e for e in events if (s := start_of(e)) is not None and NOW <= s < until]
    chosen = upcoming[:sample]
    t0 = time.perf_counter()
    for e in chosen:
        words = set(title_keys(str(e.get("summary", ""))).words)
        similar = 0
        for other in events:
            if other is e:
                continue
            o_words = title_keys(str(other.get("summary", ""))).words
            union = words | o_words
            if union and len(words & o_words) / len(union) >= 0.5:
                similar += 1
    elapsed = time.perf_counter() - t0
    return (elapsed / len(chosen) * len(upcoming) if chosen else 0.0), len(upcoming)


def measure(n_events: int, *, repeat: int, baseline_sample: int) -> dict[str, float]:
    dump = synthetic_dump(n_events)
    prefs = NoveltyPrefs(lookahead_days=LOOKAHEAD)
    best, novel = best_of(repeat, lambda: analyze(dump, now=NOW, prefs=prefs), before=title_keys.cache_clear)
    found = len(novel)
    title_keys.cache_clear()
    gc.collect()
    tracemalloc.start()
    analyze(dump, now=NOW, prefs=prefs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    naive, upcoming = naive_baseline(dump, sample=baseline_sample)
    return {
        "events": sum(len(c.items) for c in dump.calendars),
        "upcoming": upcoming,
        "novel": found,
        "seconds": best,
        "events_per_s": n_events / best,
        "peak_mib": peak / 2**20,
        "naive_s": naive,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,5000,10000,20000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-sample", type=int, default=40)
    args = ap.parse_args()
    print(f"machine: {describe()}; one process, one core; history 365 days + {LOOKAHEAD} days ahead")
    print()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        r = measure(size, repeat=args.repeat, baseline_sample=args.baseline_sample)
        rows.append(
            (
                f"{r['events']:,.0f}",
                f"{r['upcoming']:,.0f}",
                f"{r['novel']:,.0f}",
                f"{r['seconds']:.3f}",
                f"{r['events_per_s']:,.0f}",
                f"{r['peak_mib']:.1f}",
                f"{r['naive_s']:.2f}",
                f"{r['naive_s'] / r['seconds']:.0f}x",
            )
        )
    print_table(
        ("events:", "upcoming:", "novel:", "analyze s:", "events/s:", "peak MiB:", "naive all-pairs s:", "speed-up:"),
        rows,
    )


if __name__ == "__main__":
    main()
