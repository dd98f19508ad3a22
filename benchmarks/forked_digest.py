"""CPU of one digest run forked from a preloaded parent, as the ``novel-events`` worker's forkserver runs it.

    .venv/bin/python benchmarks/forked_digest.py [--runs 8] [--cold]

Starts a real ``prefect server start`` (SQLite, temporary directory), adds one iCal user (mail to the outbox),
imports the forkserver's ``PRELOAD`` in this process (the warm-up module included, unless ``--cold`` skips it),
then forks one child per digest. Each child refreshes Prefect's settings and runs the digest flow; its CPU time
(user + system, from ``wait4``) is what the worker pays per run after the fork, minus Prefect's engine entry
point. Prints a Markdown table: median, min and max CPU-s per forked digest, and the server's CPU-s per digest.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import time

from instrument import (  # benchmarks/ is on sys.path as a script
    describe,
    markdown_table,
    one_user_server,
    own_cpu_seconds,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--cold", action="store_true", help="preload the imports only, not the warm-up module")
    args = parser.parse_args()

    with one_user_server("forked-digest-") as (person, server_pid):
        from deployments.worker.fork import PRELOAD

        for name in PRELOAD if not args.cold else [n for n in PRELOAD if not n.endswith(".warmup")]:
            importlib.import_module(name)
        from flows.digest import digest_flow

        cpus: list[float] = []
        server0 = own_cpu_seconds(server_pid)
        for _ in range(args.runs):
            pid = os.fork()
            if pid == 0:  # the run's process
                code = 4
                try:
                    from prefect.context import refresh_global_settings_context

                    refresh_global_settings_context()
                    state = digest_flow(person.user_id, manual=True, return_state=True)  # type: ignore[call-overload]
                    code = 0 if state.is_completed() else 3
                finally:
                    atexit._run_exitfuncs()  # flush logs and events, as the forked run does
                    os._exit(code)
            _, status, usage = os.wait4(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"a forked digest failed (exit {os.waitstatus_to_exitcode(status)})")
            cpus.append(usage.ru_utime + usage.ru_stime)
        time.sleep(3)  # the server finishes its share (events, logs)
        server_per_run = (own_cpu_seconds(server_pid) - server0) / args.runs
    cpus.sort()
    print(f"# forked digest: {args.runs} runs, {'imports only' if args.cold else 'imports + warm-up'}\n")
    print(describe() + "\n")
    row = [f"{cpus[len(cpus) // 2]:.3f}", f"{cpus[0]:.3f}", f"{cpus[-1]:.3f}", f"{server_per_run:.3f}"]
    print(markdown_table(["CPU-s per run, median:", "min:", "max:", "server CPU-s per run:"], [row]))


if __name__ == "__main__":
    main()
