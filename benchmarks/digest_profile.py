"""Where one digest's CPU goes: N manual digests of one iCal user run in this process, imports already done
(as a run forked from the warm worker starts), against a real ``prefect server start``; prints CPU per
digest (this process and the server) and the functions that cost the most.

    .venv/bin/python benchmarks/digest_profile.py --runs 20 [--top 30] [--sort cumulative|tottime] [--requests]

The client side here is what a forked run spends after its fork, minus the engine's start-up (settings,
flow load); the burst benchmark measures the whole thing. Store and server on SQLite files in a temporary
directory; mail to the outbox.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import re
import time
from collections import Counter
from typing import Any

from instrument import describe, one_user_server, own_cpu_seconds  # benchmarks/ is on sys.path when run as a script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    parser.add_argument("--modules", action="store_true", help="list every module the first digest imported")
    parser.add_argument("--requests", action="store_true", help="count the Prefect API requests of a warm digest")
    args = parser.parse_args()

    with one_user_server("digest-profile-") as (person, server_pid):
        run(args, person, server_pid)


def run(args: argparse.Namespace, person: Any, server_pid: int) -> None:
    import importlib
    import sys

    from deployments.worker.fork import PRELOAD

    for name in PRELOAD:  # what the warm worker's forkserver imports before it forks a run
        importlib.import_module(name)
    from flows.digest import digest_flow

    preloaded = set(sys.modules)
    print(f"# digest profile: the first digest after the forkserver's preload, then {args.runs} more\n")
    print(describe() + "\n")

    # 1. what every forked run pays: the first digest after the preload
    server0, cpu0 = own_cpu_seconds(server_pid), time.process_time()
    first = cProfile.Profile(time.process_time)  # CPU, not wall: waits on the server are not ours
    first.enable()
    state = digest_flow(person.user_id, manual=True, return_state=True)  # type: ignore[call-overload]
    first.disable()
    first_cpu = time.process_time() - cpu0
    assert state.is_completed(), state
    late = sorted(set(sys.modules) - preloaded)
    tops: dict[str, int] = {}
    for name in late:
        tops[name.split(".")[0]] = tops.get(name.split(".")[0], 0) + 1
    time.sleep(3)
    first_server = own_cpu_seconds(server_pid) - server0

    # 2. the same digest again in the same process: what is left when every cache is warm
    calls = _count_requests() if args.requests else None
    server1, cpu1, wall1 = own_cpu_seconds(server_pid), time.process_time(), time.perf_counter()
    warm = cProfile.Profile(time.process_time)  # CPU, not wall: waits on the server are not ours
    warm.enable()
    for _ in range(args.runs):
        state = digest_flow(person.user_id, manual=True, return_state=True)  # type: ignore[call-overload]
        assert state.is_completed(), state
    warm.disable()
    warm_cpu, wall = time.process_time() - cpu1, time.perf_counter() - wall1
    time.sleep(3)
    warm_server = own_cpu_seconds(server_pid) - server1

    n = args.runs
    print("| digest | CPU-s (this process) | CPU-s (server) |")
    print("|---|---|---|")
    print(f"| first after the preload | {first_cpu:.3f} | {first_server:.3f} |")
    print(f"| mean of {n} warm | {warm_cpu / n:.3f} | {warm_server / n:.3f} |  (wall {wall / n:.3f} s)\n")
    print(f"modules imported by the first digest, not preloaded ({len(late)}), by package:")
    print("  " + ", ".join(f"{k} {v}" for k, v in sorted(tops.items(), key=lambda kv: -kv[1])) + "\n")
    if args.modules:
        print("  " + " ".join(late) + "\n")
    if calls is not None:
        print(f"Prefect API requests per warm digest ({sum(calls.values()) / n:.1f} in all):\n")
        print("| requests/digest | request |\n|---|---|")
        for what, count in calls.most_common():
            print(f"| {count / n:.1f} | `{what}` |")
        print()
    for title, prof in (("first digest", first), (f"{n} warm digests", warm)):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).strip_dirs().sort_stats(args.sort).print_stats(args.top)
        print(f"## {title}\n```\n" + out.getvalue().strip() + "\n```")


def _count_requests() -> Counter[str]:
    """Every request the Prefect client makes from now on, by method and path (ids folded), from httpx's log."""
    calls: Counter[str] = Counter()
    ident = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

    class Tally(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if isinstance(record.args, tuple) and len(record.args) >= 2:
                method, url = record.args[0], str(record.args[1])
                status = record.args[3] if len(record.args) > 3 else ""
                path = ident.sub("/{id}", url.split("/api", 1)[-1].split("?")[0])
                calls[f"{method} {path} -> {status}"] += 1

    logger = logging.getLogger("httpx")
    logger.addHandler(Tally())
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return calls


if __name__ == "__main__":
    main()
