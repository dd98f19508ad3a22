"""Where one digest's CPU goes: N manual digests of one iCal user run in this process, imports already done
(as a run forked from the warm worker starts), against a real ``prefect server start``; prints CPU per
digest (this process and the server) and the functions that cost the most.

    .venv/bin/python benchmarks/digest_profile.py --runs 20 [--top 30] [--sort cumulative|tottime]

The client side here is what a forked run spends after its fork, minus the engine's start-up (settings,
flow load); the burst benchmark measures the whole thing. Store and server on SQLite files in a temporary
directory; mail to the outbox.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import tempfile
import time
from pathlib import Path

from instrument import describe, own_cpu_seconds  # benchmarks/ is on sys.path when run as a script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="digest-profile-"))
    home = tmp / "home"
    ics_root = tmp / "ics"
    ics_root.mkdir()
    os.environ.update(
        {
            "PREFECT_HOME": str(tmp / "client-prefect"),
            "NOVEL_EVENTS_HOME": str(home),
            "NOVEL_EVENTS_EMAIL_BACKEND": "outbox",
            "NOVEL_EVENTS_ICS_ROOT": str(ics_root),
            "NOVEL_EVENTS_MAINTENANCE_EVERY_MINUTES": "0",
            "NOVEL_EVENTS_RECOVERY_EVERY_MINUTES": "0",
        }
    )
    from cli.processes import start_server

    server, api = start_server(tmp / "prefect", extra_env={"PREFECT_API_URL": ""})
    os.environ.update({"PREFECT_API_URL": api, **server.client_env})
    try:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: api}):
            run(args, home, ics_root, server.proc.pid)
    finally:
        server.stop()


def run(args: argparse.Namespace, home: Path, ics_root: Path, server_pid: int) -> None:
    from cli.app import main as cli
    from flows.digest import digest_flow
    from novel_events.samples import PEOPLE, build_ics

    person = PEOPLE[0]
    ics = ics_root / f"{person.user_id}.ics"
    ics.write_bytes(build_ics(person, dt.date.today()))
    assert cli(["init"]) == 0
    add = ["users", "add", person.user_id, "--email", person.email, "--timezone", person.timezone]
    assert cli([*add, "--schedule", "daily", "--at", "07:30", "--source", f"ics:{ics}", "--send-when-empty"]) == 0

    digest_flow(person.user_id, manual=True)  # warm: first-call caches, as the forkserver's preload would
    time.sleep(2)
    server_before, cpu_before, wall_before = own_cpu_seconds(server_pid), time.process_time(), time.perf_counter()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.runs):
        state = digest_flow(person.user_id, manual=True, return_state=True)  # type: ignore[call-overload]
        assert state.is_completed(), state
    profiler.disable()
    cpu, wall = time.process_time() - cpu_before, time.perf_counter() - wall_before
    time.sleep(3)  # the server finishes the events and logs the runs sent
    server_cpu = own_cpu_seconds(server_pid) - server_before

    print(f"# digest profile: {args.runs} manual digests in-process, imports warm\n\n{describe()}\n")
    print("| per digest | CPU-s (this process) | CPU-s (server) | wall s |")
    print("|---|---|---|---|")
    n = args.runs
    print(f"| mean | {cpu / n:.3f} | {server_cpu / n:.3f} | {wall / n:.3f} |\n")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(args.sort).print_stats(args.top)
    print("```\n" + out.getvalue().strip() + "\n```")


if __name__ == "__main__":
    main()
