"""Hostile feeds and secrets at rest: what a fetch costs and holds, and whether a database alone decrypts blocks.

1. Every hostile answer of ``tests/fakes/hostile_http.py`` fetched in-process through
   ``novel_events.sources.feeds.read_feed``: outcome, peak traced memory (tracemalloc) and wall time.
2. Overhead of the guarded fetch (resolve once, check, connect to that address, stream with caps)
   against a plain ``httpx.get`` for the same well-behaved feeds.
3. A real ``prefect server start`` as this project starts it (auth string + encryption key in 0600
   files): a Secret block is saved, then the copied database file is searched for the secret and for
   a key that decrypts it; Secret save/load latency and an unauthenticated read are measured too.

    .venv/bin/python benchmarks/security_bench.py [--skip-server]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from machine import describe  # benchmarks/ is on sys.path when run as a script

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from novel_events import netguard
from novel_events.sources.feeds import FeedPolicy, read_feed
from tests.fakes.hostile_http import HostileHTTP

HOSTILE = [
    "/ok",
    "/ok-gzip",
    "/huge",
    "/huge-declared",
    "/endless",
    "/gzip-bomb",
    "/trickle",
    "/stall",
    "/chain/5",
    "/chain/6",
    "/loop",
    "/redirect?to=http://169.254.169.254/",
    "/status/500",
]


def hostile_table() -> None:
    from tests.fakes.hostile_http import gzip_bomb

    gzip_bomb()  # built once up front, so the server answers at once
    with HostileHTTP() as srv, HostileHTTP() as inside:
        policy = FeedPolicy(allow_private=netguard.parse_allow_list(srv.allow), deadline=5.0)
        print("| answer | outcome | peak traced memory | wall time |")
        print("|---|---|---:|---:|")
        paths = [*HOSTILE, f"/redirect?to={inside.url('/ok')}"]
        for path in paths:
            gc.collect()
            tracemalloc.start()
            t = time.perf_counter()
            try:
                outcome = f"{len(read_feed(srv.url(path), policy))} bytes"
            except Exception as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            wall = time.perf_counter() - t
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            shown = path if "inside" not in path and len(path) < 45 else path.split("?")[0] + "?to=<other local port>"
            print(f"| `{shown}` | {outcome} | {peak / 2**20:.1f} MiB | {wall:.2f} s |")
        print(
            f"\n(deadline 5 s for this table; the product uses 30 s. Requests seen by the inside server: "
            f"{len(inside.requests)})"
        )


def overhead_table(repeat: int) -> None:
    import httpx

    with HostileHTTP() as srv:
        policy = FeedPolicy(allow_private=netguard.parse_allow_list(srv.allow))
        client = httpx.Client(timeout=10)  # reused: the plain path at its cheapest
        print("\n| feed | plain httpx.Client, reused (median) | guarded read_feed (median) |")
        print("|---|---:|---:|")
        for name, size in (("small (4 KiB)", 4096), ("large (4 MiB)", 4 * 2**20)):
            url = srv.put(f"{size}.ics", b"X" * size)
            plain, guarded = [], []
            for _ in range(repeat):
                t = time.perf_counter()
                client.get(url).raise_for_status()
                plain.append(time.perf_counter() - t)
                t = time.perf_counter()
                read_feed(url, policy)
                guarded.append(time.perf_counter() - t)
            print(f"| {name} | {statistics.median(plain) * 1000:.1f} ms | {statistics.median(guarded) * 1000:.1f} ms |")


def server_table(repeat: int) -> None:
    import httpx
    from prefect.blocks.system import Secret
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    from cli.processes import start_server

    marker = "refresh-token-" + os.urandom(8).hex()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "prefect"
        server, api = start_server(home, secrets_dir=Path(tmp) / "secrets", timeout=300)
        try:
            unauth = httpx.post(f"{api}/block_documents/filter", json={"include_secrets": True}, timeout=10)
            auth = server.client_env["PREFECT_API_AUTH_STRING"]
            with temporary_settings(updates={PREFECT_API_URL: api, PREFECT_API_AUTH_STRING: auth}):
                saves, loads = [], []
                for i in range(repeat):
                    t = time.perf_counter()
                    Secret(value=f"{marker}-{i}").save(f"bench-{i}", overwrite=True)  # type: ignore[arg-type]
                    saves.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    Secret.load(f"bench-{i}").get()  # type: ignore[union-attr]
                    loads.append(time.perf_counter() - t)
        finally:
            server.stop()
        db = home / "prefect.db"
        raw = db.read_bytes()
        with sqlite3.connect(db) as conn:
            keys = conn.execute("SELECT value FROM configuration WHERE key = 'ENCRYPTION_KEY'").fetchall()
            blobs = [r[0] for r in conn.execute("SELECT data FROM block_document WHERE name LIKE 'bench-%'")]
        from cryptography.fernet import Fernet, InvalidToken

        def decrypts(key: str) -> bool:
            try:
                Fernet(key.encode()).decrypt(
                    json.loads(blobs[0]).encode() if blobs[0].startswith('"') else blobs[0].encode()
                )
                return True
            except (InvalidToken, ValueError):
                return False

        file_key = (Path(tmp) / "secrets" / "prefect-encryption-key").read_text().strip()
        file_mode = oct((Path(tmp) / "secrets" / "prefect-encryption-key").stat().st_mode & 0o777)
    print("\n| check | result |")
    print("|---|---|")
    print(f"| unauthenticated `POST /block_documents/filter` | HTTP {unauth.status_code} |")
    print(f"| secret text in the database file | {'yes' if marker.encode() in raw else 'no'} |")
    print(f"| encryption key stored in the database | {'yes' if keys else 'no'} |")
    db_decrypts = any(decrypts(json.loads(k[0])["fernet_key"]) for k in keys)
    print(f"| database alone decrypts a block | {'yes' if db_decrypts else 'no'} |")
    print(f"| the 0600 key file ({file_mode}) decrypts a block | {'yes' if decrypts(file_key) else 'no'} |")
    print(f"| Secret block save (median of {repeat}) | {statistics.median(saves) * 1000:.0f} ms |")
    print(f"| Secret block load (median of {repeat}) | {statistics.median(loads) * 1000:.0f} ms |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--skip-server", action="store_true")
    args = ap.parse_args()
    print(f"machine: {describe()}\n")
    hostile_table()
    overhead_table(args.repeat)
    if not args.skip_server:
        server_table(args.repeat)


if __name__ == "__main__":
    main()
