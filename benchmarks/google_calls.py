"""API calls and bytes per Google digest fetch: first run, steady state, a few changes, a 410, no cache.

Runs the real adapter (google-api-python-client + google-auth) against the local fake Google holding a
heavy synthetic year (three calendars, ~6,000 instances). Prints a Markdown table.

    .venv/bin/python -m benchmarks.google_calls [--events-per-workday 16]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from typing import Any

from instrument import describe, print_table  # benchmarks/ is on sys.path when run as a script

from novel_events.sources.google import GoogleFetch, UserGrant, fetch_google_calendar, new_state_key
from tests.fakes.google_calendar import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    FakeGoogleCalendar,
    all_day_event,
    calendar_entry,
    timed_event,
)

NOW = dt.datetime(2025, 6, 18, 4, 0, tzinfo=dt.UTC)
HISTORY, LOOKAHEAD = dt.timedelta(days=365), dt.timedelta(days=14)
PRIMARY, TEAM, HOME = (
    "dana@example.com",
    "c_team@group.calendar.google.com",
    "c_home@group.calendar.google.com",
)


def heavy_year(per_workday: int, seed: int = 7) -> dict[str, Any]:
    """A busy person's year: meetings with attendees on workdays, a team calendar, a home calendar."""
    rng = random.Random(seed)
    people = [{"email": f"p{n}@example.com", "responseStatus": "accepted"} for n in range(40)]
    work: list[dict[str, Any]] = []
    team: list[dict[str, Any]] = []
    home: list[dict[str, Any]] = []
    day0 = (NOW - HISTORY - dt.timedelta(days=1)).date()
    for d in range((HISTORY + LOOKAHEAD + dt.timedelta(days=30)).days):
        day = day0 + dt.timedelta(days=d)
        base = dt.datetime(day.year, day.month, day.day, 7, 0, tzinfo=dt.UTC)
        if day.weekday() < 5:
            for n in range(per_workday):
                start = base + dt.timedelta(minutes=30 * n)
                series = f"s{n % 9}"
                work.append(
                    timed_event(
                        f"{series}_{day:%Y%m%d}_{n}",
                        start,
                        30,
                        summary=f"Meeting {series}",
                        recurringEventId=series,
                        attendees=rng.sample(people, 4),
                        hangoutLink=f"https://meet.google.com/{series}-abc",
                        description="Agenda: updates, blockers, next steps.",
                    )
                )
            team.append(
                timed_event(
                    f"team_{day:%Y%m%d}",
                    base + dt.timedelta(hours=9),
                    15,
                    summary="Team sync",
                    recurringEventId="team",
                )
            )
        if day.weekday() == 5:
            home.append(all_day_event(f"home_{day:%Y%m%d}", day, summary="Family day"))
            home.append(timed_event(f"gym_{day:%Y%m%d}", base + dt.timedelta(hours=2), 90, summary="Gym"))
    return {
        "timeZone": "Europe/Berlin",
        "calendars": [
            calendar_entry(PRIMARY, PRIMARY, work, primary=True),
            calendar_entry(TEAM, "Team", team),
            calendar_entry(HOME, "Home", home),
            calendar_entry(
                "en.german#holiday@group.v.calendar.google.com",
                "Holidays in Germany",
                [all_day_event("xmas", dt.date(2024, 12, 25))],
            ),
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-workday", type=int, default=16)
    args = parser.parse_args()
    dump = heavy_year(args.events_per_workday)
    total = sum(len(c["items"]) for c in dump["calendars"])
    rows: list[tuple[str, GoogleFetch, int, float, int]] = []
    with FakeGoogleCalendar(dump) as fake:
        grant = UserGrant(DEFAULT_REFRESH_TOKEN, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, fake.token_uri)
        key = new_state_key()
        account = fake.account
        assert account is not None

        def run(label: str, day: int, state: bytes | None, *, use_key: bool = True) -> GoogleFetch:
            mark = len(fake.requests)
            started = time.perf_counter()
            result = fetch_google_calendar(
                grant,
                time_min=NOW - HISTORY + dt.timedelta(days=day),
                time_max=NOW + LOOKAHEAD + dt.timedelta(days=day),
                state=state,
                state_key=key if use_key else None,
                api_endpoint=fake.base_url,
            )
            elapsed = time.perf_counter() - started
            wire = sum(r.bytes_sent for r in fake.requests[mark:] if r.is_api)
            rows.append((label, result, wire, elapsed, len(result.state or b"")))
            return result

        first = run("first digest (no state)", 0, None)
        same = run("steady state, same window, nothing changed", 0, first.state)
        nxt = run("steady state, next day, nothing changed", 1, same.state)
        change(account)
        changed = run("next day, 5 events changed (2 new, 2 moved, 1 deleted)", 2, nxt.state)
        account.invalidate_sync_tokens(PRIMARY)
        after_410 = run("next day, primary sync token expired (410)", 3, changed.state)
        run("day 29: window past the 28-day sync horizon", 29, after_410.state)
        run("no state key: every digest lists the window", 3, None, use_key=False)

    print(f"Machine: {describe()}")
    print(
        f"Calendar: {total} instances in 3 calendars (+1 holiday calendar, excluded), "
        f"window = {HISTORY.days} days history + {LOOKAHEAD.days} days ahead\n"
    )
    print_table(
        (
            "digest fetch",
            "API calls:",
            "token calls:",
            "bytes received (decoded):",
            "bytes on the wire (gzip):",
            "full / incremental syncs",
            "events in dump:",
            "state blob:",
            "time:",
        ),
        [
            (
                label,
                r.stats.api_calls,
                r.stats.token_calls,
                f"{r.stats.bytes_received:,}",
                f"{wire:,}",
                f"{r.stats.full_syncs} / {r.stats.incremental_syncs}",
                f"{r.stats.events:,}",
                f"{blob:,}",
                f"{elapsed * 1000:.0f} ms",
            )
            for label, r, wire, elapsed, blob in rows
        ],
    )


def change(account: Any) -> None:
    account.add_event(PRIMARY, timed_event("offsite", NOW + dt.timedelta(days=5), 480, summary="Offsite in Lisbon"))
    account.add_event(HOME, all_day_event("wedding", (NOW + dt.timedelta(days=9)).date(), summary="Wedding"))

    def moved(hour: int) -> dict[str, Any]:
        start = NOW + dt.timedelta(days=4, hours=hour)
        return {
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + dt.timedelta(minutes=30)).isoformat()},
        }

    ids = [e["id"] for e in account.events(PRIMARY) if e["id"].startswith("s3_2025062")]
    account.update_event(PRIMARY, ids[0], moved(3))
    account.update_event(TEAM, "team_20250620", moved(5))
    account.delete_event(PRIMARY, ids[1])


if __name__ == "__main__":
    main()
