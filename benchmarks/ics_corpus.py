"""Run the iCal source over every .ics file of a folder, bounded per file, and print a table.

    python benchmarks/ics_corpus.py FOLDER [--timeout S] [--memory-mb M] [--check] [--list] [--each]

Each file is read in a worker process limited to ``--memory-mb`` of address space and ``--timeout``
seconds (a hang or a blow-up is reported, not waited for). The window is the file's own: from the
1st of January of the median year of its DTSTARTs, three years long (fixtures are dated anywhere from 1997 on).
``--check`` also expands every file with recurring-ical-events called directly (an independent
expansion) and compares the instances: (UTC start, all-day, UID).
Build a corpus with ``benchmarks/ics_corpus_collect.py`` (never commit it: see docs/ical.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

from machine import describe  # benchmarks/ is on sys.path when run as a script

_DTSTART = re.compile(rb"^DTSTART[^:\r\n]*:(\d{8})", re.MULTILINE | re.IGNORECASE)
Key = tuple[str, bool, str]  # (UTC start or date, all-day, id)
USER_TZ = "Europe/Berlin"  # floating times are read in the calendar's zone, else the user's


def window_of(data: bytes) -> tuple[dt.datetime, dt.datetime]:
    years = [int(m[:4]) for m in _DTSTART.findall(data) if 1900 <= int(m[:4]) <= 2100]
    first = sorted(years)[len(years) // 2] if years else 2026  # the median: VTIMEZONEs start in 1970
    start = dt.datetime(first, 1, 1, tzinfo=dt.UTC)
    return start, start.replace(year=first + 3)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


def ours(data: bytes) -> dict[str, Any]:
    """Our source on one file, in a fresh forked worker: time and peak memory are this file's alone."""
    from novel_events.errors import NovelEventsError
    from novel_events.sources.ics import read_calendar

    start, end = window_of(data)
    rss0 = _rss_mb()
    t0, cpu0 = time.perf_counter(), time.thread_time()
    out: dict[str, Any] = {}
    try:
        result = read_calendar(data, start=start, end=end, user_tz=USER_TZ)
        items = result.dump.calendars[0].items
        out.update(
            events=len(items),
            skipped=result.skipped,
            problems=[str(p) for p in result.problems],
            keys=sorted(_key(e) for e in items),
        )
    except NovelEventsError as exc:
        out.update(error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # what the corpus is for: an exception that is not ours
        out.update(unexpected=f"{type(exc).__name__}: {str(exc)[:200]}")
    out["seconds"] = time.perf_counter() - t0
    out["cpu"] = time.thread_time() - cpu0
    out["peak_mb"] = max(0.0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3 - rss0)
    return out


def _key(event: dict[str, Any]) -> Key:
    """(UTC start or date, all-day, UID of the series or event). Instance ids (UID + original start) are
    checked by tests/unit/test_ics_quirks.py and the property tests; the reference names them differently."""
    start, uid = event["start"], event.get("recurringEventId") or event["id"]
    if "date" in start:
        return (start["date"], True, uid)
    utc = dt.datetime.fromisoformat(start["dateTime"]).astimezone(dt.UTC)
    return (utc.strftime("%Y%m%dT%H%M%SZ"), False, uid)


def theirs(data: bytes) -> dict[str, Any]:
    """recurring-ical-events, called directly: the independent expansion (floating times read as ours are)."""
    import icalendar
    import recurring_ical_events

    from novel_events.events import zone

    start, end = window_of(data)
    try:
        keys: list[Key] = []
        for cal in icalendar.Calendar.from_ical(data, multiple=True):
            try:
                floating = zone(str(cal.get("X-WR-TIMEZONE") or USER_TZ).strip())
            except ValueError:
                floating = zone(USER_TZ)
            for occ in recurring_ical_events.of(cal).between(start, end):
                value = occ["DTSTART"].dt
                all_day = not isinstance(value, dt.datetime)
                uid = str(occ.get("UID") or "")
                when = value.isoformat() if all_day else _utc(value, floating)
                keys.append((when, all_day, uid))
        return {"keys": sorted(set(keys))}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {str(exc)[:160]}"}


def _utc(value: dt.datetime, floating: Any) -> str:
    zoned = value if value.tzinfo else value.replace(tzinfo=floating)
    return zoned.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def comparable(keys: list[Any], start: dt.datetime, end: dt.datetime) -> set[Key]:
    """Keys without what differs by convention only: the UIDs we make up for events without one
    (``ics-<hash>``; the reference has none) and instances within a day of the window's edges (an
    all-day event belongs to the calendar's local day; the reference compares dates with UTC)."""
    out = set()
    for when, all_day, uid in keys:
        at = dt.datetime.strptime(when.replace("-", "")[:8], "%Y%m%d").replace(tzinfo=dt.UTC)
        if abs(at - start) <= dt.timedelta(days=1) or abs(at - end) <= dt.timedelta(days=1):
            continue
        if uid.startswith("ics-"):
            uid = ""  # an id we made up for an event without a UID
        out.add((when, bool(all_day), uid))
    return out


def _limit(memory_mb: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 1024 * 1024, memory_mb * 1024 * 1024))


def _run(pool_box: list[Any], fn: Any, data: bytes, timeout: float, memory_mb: int) -> dict[str, Any]:
    try:
        result: dict[str, Any] = pool_box[0].apply_async(fn, (data,)).get(timeout=timeout)
        return result
    except mp.TimeoutError:
        pool_box[0].terminate()
        pool_box[0] = mp.get_context("fork").Pool(1, initializer=_limit, initargs=(memory_mb,), maxtasksperchild=1)
        return {"unexpected": f"timeout after {timeout:g} s", "seconds": timeout, "peak_mb": 0.0}
    except MemoryError:
        return {"unexpected": f"MemoryError (over {memory_mb} MB)", "seconds": 0.0, "peak_mb": float(memory_mb)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--memory-mb", type=int, default=1024)
    ap.add_argument("--check", action="store_true", help="compare with recurring-ical-events")
    ap.add_argument("--list", action="store_true", help="print every unexpected exception and disagreement")
    ap.add_argument("--each", action="store_true", help="print a line per file (time, memory, outcome)")
    args = ap.parse_args(argv)
    files = sorted(p for p in args.folder.rglob("*") if p.suffix.lower() == ".ics")
    ctx = mp.get_context("fork")
    import icalendar  # noqa: F401 - imported once here, so each forked worker starts warm
    import recurring_ical_events  # noqa: F401

    import novel_events.sources.ics  # noqa: F401

    pool = [ctx.Pool(1, initializer=_limit, initargs=(args.memory_mb,), maxtasksperchild=1)]
    rows: list[tuple[Path, dict[str, Any], dict[str, Any] | None]] = []
    t0 = time.perf_counter()
    for path in files:
        data = path.read_bytes()
        mine = _run(pool, ours, data, args.timeout, args.memory_mb)
        ref = _run(pool, theirs, data, args.timeout, args.memory_mb) if args.check else None
        rows.append((path, mine, ref))
    pool[0].terminate()
    wall = time.perf_counter() - t0
    _report(rows, wall, args)
    return 0


def _report(
    rows: list[tuple[Path, dict[str, Any], dict[str, Any] | None]], wall: float, args: argparse.Namespace
) -> None:
    unexpected = [(p, m) for p, m, _ in rows if "unexpected" in m]
    refused = [(p, m) for p, m, _ in rows if "error" in m]
    slowest = max(rows, key=lambda r: r[1].get("seconds", 0.0))
    hungriest = max(rows, key=lambda r: r[1].get("peak_mb", 0.0))
    cpu_slowest = max(rows, key=lambda r: r[1].get("cpu", 0.0))
    print(f"machine: {describe()}")
    print(
        f"corpus: {args.folder} ({len(rows)} files), per-file bound {args.timeout:g} s / {args.memory_mb} MB, "
        f"wall {wall:.1f} s"
    )
    table = [
        ("files", len(rows)),
        ("events read (instances)", sum(m.get("events", 0) for _, m, _ in rows)),
        ("skipped components (problems that lost data)", sum(m.get("skipped", 0) for _, m, _ in rows)),
        ("files with skipped components", sum(1 for _, m, _ in rows if m.get("skipped"))),
        ("files refused (project error)", len(refused)),
        ("unexpected exceptions / timeouts", len(unexpected)),
        ("slowest file (wall)", f"{slowest[0].name} {slowest[1].get('seconds', 0):.2f} s"),
        ("slowest file (CPU)", f"{cpu_slowest[0].name} {cpu_slowest[1].get('cpu', 0):.2f} s"),
        ("total CPU, our source", f"{sum(m.get('cpu', 0.0) for _, m, _ in rows):.1f} s"),
        ("peak memory (RSS growth)", f"{hungriest[0].name} {hungriest[1].get('peak_mb', 0):.1f} MB"),
    ]
    if args.check:
        checked = [(p, m, r) for p, m, r in rows if r is not None and "keys" in r and "keys" in m]
        same = [p for p, m, r in checked if _same(p, m, r)]
        table += [
            ("checked against recurring-ical-events", len(checked)),
            ("  identical instances", len(same)),
            ("  reference failed", sum(1 for _, _, r in rows if r is not None and "error" in r)),
        ]
    width = max(len(k) for k, _ in table)
    for k, v in table:
        print(f"  {k:<{width}}  {v}")
    if args.each:
        for p, m, _ in rows:
            outcome = (
                m.get("error") or m.get("unexpected") or f"{m.get('events', 0)} events, {m.get('skipped', 0)} skipped"
            )
            print(
                f"  {p.name:<40} cpu {m.get('cpu', 0):6.2f} s  wall {m.get('seconds', 0):6.2f} s  "
                f"rss +{m.get('peak_mb', 0):5.1f} MB  {outcome[:90]}"
            )
    if args.list:
        for p, m in unexpected:
            print(f"UNEXPECTED {p.name}: {m['unexpected']}")
        for p, m in refused:
            print(f"REFUSED {p.name}: {m['error']}")
        for p, m, r in rows:
            for problem in m.get("problems", []):
                print(f"PROBLEM {p.name}: {problem}")
            if r is not None and "keys" in r and "keys" in m:
                w0, w1 = window_of(p.read_bytes())
                a, b = comparable(m["keys"], w0, w1), comparable(r["keys"], w0, w1)
                if a != b:
                    print(
                        f"DIFF {p.name}: ours-only {sorted(a - b)[:3]} ({len(a - b)}) "
                        f"theirs-only {sorted(b - a)[:3]} ({len(b - a)})"
                    )
            elif r is not None and "error" in r:
                print(f"REFERROR {p.name}: {r['error']}")


def _same(path: Path, mine: dict[str, Any], ref: dict[str, Any]) -> bool:
    w0, w1 = window_of(path.read_bytes())
    return comparable(mine["keys"], w0, w1) == comparable(ref["keys"], w0, w1)


if __name__ == "__main__":
    sys.exit(main())
