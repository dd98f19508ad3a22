"""The faults of issue 14, one function each. Run one alone (its own process, its own everything):

    .venv/bin/python -m tests.faults.scenarios kill-send /tmp/faults/kill-send

It writes ``row.json`` (a :class:`~tests.faults.table.Row`) and a log into that folder.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.faults import knobs
from tests.faults.stack import Stack, log, until
from tests.faults.table import Copy, Row

FINAL = {"Completed", "Failed", "Crashed", "Cancelled", "TimedOut"}


def _wait_for_slot(st: Stack, before: float = 0.0) -> None:
    left = st.slot_at.timestamp() - before - time.time()
    if left > 0:
        time.sleep(left)


def _half(st: Stack) -> tuple[set[str], set[str]]:
    mid = len(st.users) // 2
    return set(st.users[:mid]), set(st.users[mid:])


def observe(st: Stack, key: str, fault: str, fault_end: float | None) -> Row:
    """Watch until every digest is delivered and things settle, or the recovery target has passed."""
    label = "fault ended"
    if fault_end is None:
        fault_end, label = st.slot_at.timestamp(), "slot"
    deadline = fault_end + knobs.RECOVERY_TARGET_SECONDS + 30
    all_in: float | None = None
    said = 0.0
    while True:
        got = {st.emails.get(a.rcpt) for a in st.relay.snapshot()}
        due = _due(st)
        busy = not due or any(r["state"] not in FINAL for r in due)  # unreadable (server down): busy
        if time.time() - said > 30:
            said = time.time()
            states = Counter(str(r["state"]) for r in due)
            log(
                f"delivered {len(got & set(st.users))}/{len(st.users)}, {len(st.relay.snapshot())} mails; "
                f"runs {dict(states)}"
            )
        if all_in is None and set(st.users) <= got:
            all_in = time.time()
            log("every digest delivered; watching for late copies")
        if all_in is not None and time.time() - all_in > knobs.SETTLE_SECONDS and not busy:
            break
        if time.time() > deadline and (not busy or time.time() > deadline + knobs.OVERTIME_SECONDS):
            break
        time.sleep(3)
    return _row(st, key, fault, fault_end, label)


def _due(st: Stack) -> list[dict[str, object]]:
    """Runs whose time has come (not tomorrow's scheduled ones)."""
    now = time.time()
    return [r for r in _safe_runs(st) if r["start"] is None or r["start"].timestamp() <= now]  # type: ignore[attr-defined]


def _safe_runs(st: Stack) -> list[dict[str, object]]:
    try:
        return st.runs()
    except Exception as err:
        log(f"reading runs: {type(err).__name__}")
        return []


def _row(st: Stack, key: str, fault: str, fault_end: float, label: str) -> Row:
    copies: dict[str, list[Copy]] = {}
    for a in st.relay.snapshot():
        uid = st.emails.get(a.rcpt, a.rcpt)
        copies.setdefault(uid, []).append(Copy(a.message_id, a.at, a.acknowledged))
    runs = _due(st)
    messages = sorted({f"{r['state']}: {str(r['message'])[:160]}" for r in runs if r["state"] != "Completed"})
    return Row(
        key=key,
        fault=fault,
        expected=list(st.users),
        copies=copies,
        runs=dict(Counter(str(r["state"]) for r in runs)),
        ledger=st.ledger(),
        messages=messages,
        in_flight=sum(1 for r in runs if r["state"] not in FINAL),
        fault_end=fault_end,
        fault_end_label=label,
    )


# -- the scenarios -------------------------------------------------------------------------------------


def kill_send(st: Stack) -> tuple[str, float | None]:
    victims, _ = _half(st)
    st.relay.hold({f"{u}@example.org" for u in victims})
    st.start_worker()
    _wait_for_slot(st)
    killed: set[str] = set()
    processes = 0

    def kill_held() -> bool:  # each victim as soon as the relay holds its reply
        nonlocal processes
        for rcpt in st.relay.held() - {f"{u}@example.org" for u in killed}:
            uid = st.emails[rcpt]
            processes += st.kill_runs_of({uid})
            st.relay.release({rcpt})
            killed.add(uid)
        return killed >= victims

    until("the relay to hold the victims' messages", kill_held, knobs.WAIT_SECONDS, every=0.1)
    st.relay.release()
    if not processes:
        raise RuntimeError("no run process was killed while the relay held its reply")
    return f"`kill -9` of {processes} runs while the relay holds their DATA reply", time.time()


def kill_fetch(st: Stack) -> tuple[str, float | None]:
    victims, _ = _half(st)
    st.feed.hold(victims)
    st.start_worker()
    _wait_for_slot(st)
    # A held fetch gives up at the product's fetch deadline (30 s) and is retried, so the victims are not all
    # inside at once: kill the ones that are, a few seconds after the first arrives.
    until("a victim inside its calendar fetch", lambda: st.feed.wait_waiting(1, 5), knobs.WAIT_SECONDS)
    time.sleep(3)
    inside = st.feed.held_now()
    killed = st.kill_runs_of(inside)
    st.feed.release()
    if not killed:
        raise RuntimeError(f"no run was killed inside its fetch (held: {sorted(inside)})")
    return f"`kill -9` of {killed} runs while they fetch the calendar (before the claim)", time.time()


def server_restart(st: Stack) -> tuple[str, float | None]:
    st.feed.slow(8.0)  # every run spends 8 s in its fetch: the restart finds them in flight
    st.start_worker()
    _wait_for_slot(st)
    until("runs in flight", lambda: st.feed.requests >= len(st.users) // 2, knobs.WAIT_SECONDS)
    down = time.time()
    st.stop_server()
    time.sleep(knobs.SERVER_DOWN_SECONDS)
    st.feed.slow(0.0)
    st.start_server()
    log(f"server back after {time.time() - down:.0f}s down")
    return f"Prefect server restarted ({time.time() - down:.0f} s down) with runs in flight", time.time()


def two_workers(st: Stack) -> tuple[str, float | None]:
    for uid in st.users:
        st.create_run(uid, st.slot_at)  # a second run for every slot
    st.start_worker()
    st.start_worker()
    return f"two workers on one pool, {len(st.users)} users, 2 runs per slot", None


def rerun_sent(st: Stack) -> tuple[str, float | None]:
    st.start_worker()
    _wait_for_slot(st)
    until("the first digests", lambda: len({a.rcpt for a in st.relay.snapshot()}) >= len(st.users), knobs.WAIT_SECONDS)
    until("the first runs to finish", lambda: all(r["state"] in FINAL for r in _due(st)), 120)
    done = [r for r in _due(st) if r["state"] == "Completed"]
    for uid in st.users:
        st.create_run(uid, st.slot_at)
    for r in done:
        st.rerun(str(r["id"]))
    log(f"{len(st.users)} second runs for sent slots, {len(done)} completed runs re-run")
    time.sleep(15)
    return "a second run for each sent slot, and a re-run of every completed run", None


def mail_down(st: Stack) -> tuple[str, float | None]:
    st.start_worker()
    _wait_for_slot(st, before=5)
    st.relay.stop()
    log("relay down")
    time.sleep(knobs.MAIL_DOWN_SECONDS)
    st.relay.start()
    log("relay up")
    return f"mail server down {knobs.MAIL_DOWN_SECONDS} s during the burst, then back", time.time()


def store_down(st: Stack) -> tuple[str, float | None]:
    assert st.store_proxy is not None
    st.relay.slow_all(3.0)  # a few sends are between "relay accepted" and "recorded" when the store goes
    st.start_worker()
    _wait_for_slot(st)
    until("the first accepted messages", lambda: len(st.relay.snapshot()) >= 3, knobs.WAIT_SECONDS, every=0.2)
    st.store_proxy.cut()
    st.relay.slow_all(0.0)
    log("store cut")
    time.sleep(knobs.STORE_DOWN_SECONDS)
    st.store_proxy.restore()
    log("store back")
    return f"store unreachable {knobs.STORE_DOWN_SECONDS} s during the burst (mid claim/send/record)", time.time()


def worker_kill(st: Stack) -> tuple[str, float | None]:
    sending, fetching = _half(st)
    st.relay.hold({f"{u}@example.org" for u in sending})
    st.feed.hold(fetching)
    worker = st.start_worker()
    _wait_for_slot(st)
    until("half the runs mid-send", lambda: len(st.relay.held()) >= len(sending), knobs.WAIT_SECONDS)
    # A held fetch gives up at the product's fetch deadline and is retried, so the fetching half is not all
    # inside at once (waiting for that took 120 s and killed none inside): kill when some are.
    until("a run inside its calendar fetch", lambda: st.feed.wait_waiting(1, 5), knobs.WAIT_SECONDS)
    time.sleep(3)
    inside = st.feed.held_now()
    st.kill_worker(worker)
    st.feed.release()
    st.relay.release()
    time.sleep(knobs.NEW_WORKER_AFTER_SECONDS)
    st.start_worker()
    return (
        f"worker and its runs `kill -9` ({len(sending)} mid-send, {len(inside)} fetching), "
        f"new worker {knobs.NEW_WORKER_AFTER_SECONDS} s later"
    ), time.time()


def slow_relay(st: Stack) -> tuple[str, float | None]:
    st.relay.slow_all(knobs.SLOW_DATA_SECONDS)
    st.start_worker()
    return f"relay answers DATA after {knobs.SLOW_DATA_SECONDS} s, no other fault", None


def api_down(st: Stack) -> tuple[str, float | None]:
    assert st.api_proxy is not None
    st.feed.hold(None)
    st.start_worker()
    _wait_for_slot(st)
    until("the runs to fetch calendars", lambda: st.feed.wait_waiting(len(st.users), 5), knobs.WAIT_SECONDS)
    st.api_proxy.cut()
    st.feed.release()
    log("Prefect API cut")
    time.sleep(knobs.API_DOWN_SECONDS)
    st.api_proxy.restore()
    log("Prefect API back")
    return f"Prefect API unreachable {knobs.API_DOWN_SECONDS} s while runs fetch calendars", time.time()


Scenario = Callable[[Stack], tuple[str, "float | None"]]
# key -> (function, Stack options); in the table order
SCENARIOS: dict[str, tuple[Scenario, dict[str, object]]] = {
    "kill-send": (kill_send, {}),
    "kill-fetch": (kill_fetch, {}),
    "server-restart": (server_restart, {}),
    "two-workers": (two_workers, {"users": knobs.USERS_TWO_WORKERS}),
    "rerun-sent": (rerun_sent, {}),
    "mail-down": (mail_down, {}),
    "store-down": (store_down, {"store_proxy": True}),
    "worker-kill": (worker_kill, {}),
    "slow-relay": (slow_relay, {}),
    "api-down": (api_down, {"api_proxy": True}),
}


def run(key: str, workdir: Path) -> Row:
    fn, options = SCENARIOS[key]
    with Stack(key, workdir, **options) as st:  # type: ignore[arg-type]
        try:
            st.setup()
            fault, fault_end = fn(st)
            log(f"fault done: {fault}")
            return observe(st, key, fault, fault_end)
        except Exception as err:
            log(traceback.format_exc())
            return Row(key=key, fault=key, expected=list(st.users), error=f"{type(err).__name__}: {err}"[:400])


def main(argv: list[str]) -> int:
    key, workdir = argv[0], Path(argv[1])
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["PREFECT_HOME"] = str(workdir / "client-prefect")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # cleanup (servers, workers, db) on timeout
    started = dt.datetime.now(dt.UTC)
    row = run(key, workdir)
    (workdir / "row.json").write_text(row.to_json())
    log(f"{key}: done in {(dt.datetime.now(dt.UTC) - started).total_seconds():.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
