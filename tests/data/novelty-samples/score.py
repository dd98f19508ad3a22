#!/usr/bin/env python3
"""Score a novel-event analyzer against a generated dataset.  Standard library only.

    python3 score.py --data data-public \
        --cmd 'python3 baseline_reference.py {dump} --now {now} --lookahead-days {lookahead} --json'

For every persona in DIR/labels.json the command is run (through the shell, from the current
directory or --cwd) with {dump}, {now} and {lookahead} substituted (shell-quoted).  Its stdout must be
    {"novel": [{"calendarId": "...", "id": "...", "score": 0.0-1.0, "reasons": ["..."]}, ...]}
sorted chronologically.  An event counts as predicted novel iff it appears in that list; only
labelled events (those starting in [now, now+lookahead)) are scored, other ids are reported as
"unlabelled" and ignored.

Prints micro precision/recall/F1 overall, per persona (with wall time) and per label category
(recall for novel categories, false positives for routine/filtered ones).  The last line is always
    novelty F1=0.873 P=0.91 R=0.84 over N events (K personas)
Exit status 0, unless the command fails for a persona (non-zero exit, timeout, unparsable output):
then the persona is named and the exit status is 2.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import time
from collections import defaultdict


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def event_starts(dump_path: str) -> dict[str, dt.datetime]:
    """calendarId/eventId -> absolute start (for the chronological-order check)."""
    with open(dump_path, encoding="utf-8") as f:
        dump = json.load(f)
    out = {}
    for cal in dump.get("calendars", []):
        for ev in cal.get("items", []):
            v = ev.get("start") or ev.get("originalStartTime") or {}
            try:
                if v.get("dateTime"):
                    s = dt.datetime.fromisoformat(v["dateTime"].replace("Z", "+00:00"))
                elif v.get("date"):
                    from zoneinfo import ZoneInfo
                    d = dt.date.fromisoformat(v["date"])
                    s = dt.datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(dump.get("timeZone") or "UTC"))
                else:
                    continue
            except ValueError:
                continue
            out[f"{cal.get('id')}/{ev.get('id')}"] = s
    return out


def run_persona(cmd_t: str, dump: str, now: str, look: int, cwd: str | None, timeout: float):
    cmd = (cmd_t.replace("{dump}", shlex.quote(dump)).replace("{now}", shlex.quote(now))
           .replace("{lookahead}", str(look)))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t0, f"timed out after {timeout:.0f}s: {cmd}"
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout or "").strip()[-1500:]
        return None, wall, f"exit status {proc.returncode}: {cmd}\n{tail}"
    try:
        out = json.loads(proc.stdout)
        items = out["novel"]
        if not isinstance(items, list):
            raise TypeError("'novel' is not a list")
        for it in items:
            if not isinstance(it, dict) or "calendarId" not in it or "id" not in it:
                raise TypeError(f"bad item {it!r:.200}")
    except Exception as e:
        return None, wall, f"unparsable output ({e}): {cmd}\nstdout starts: {proc.stdout[:300]!r}"
    return items, wall, None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="dataset directory (with labels.json)")
    ap.add_argument("--cmd", required=True, help="command template with {dump} {now} {lookahead}")
    ap.add_argument("--cwd", help="working directory for the command (default: current)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per persona")
    ap.add_argument("--personas", help="comma-separated subset of persona ids")
    ap.add_argument("--json-out", help="also write all metrics to this JSON file")
    ap.add_argument("--show-errors", type=int, default=0, metavar="N",
                    help="list up to N false positives / false negatives per persona")
    args = ap.parse_args(argv)

    with open(os.path.join(args.data, "labels.json"), encoding="utf-8") as f:
        labels = json.load(f)
    personas = sorted(labels)
    if args.personas:
        want = args.personas.split(",")
        personas = [p for p in personas if p in want]

    tot = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    cats = defaultdict(lambda: {"n": 0, "novel": None, "pred": 0})
    rows, warnings = [], []
    total_wall = 0.0
    for pid in personas:
        lab = labels[pid]
        dump = os.path.join(args.data, f"{pid}.json")
        items, wall, err = run_persona(args.cmd, dump, lab["now"], int(lab.get("lookaheadDays", 14)),
                                       args.cwd, args.timeout)
        total_wall += wall
        if err:
            print(f"ERROR: analyzer failed on persona {pid}: {err}", file=sys.stderr)
            print(f"novelty F1=n/a P=n/a R=n/a: command failed on persona {pid}")
            return 2
        ev_labels = lab["events"]
        predicted = [f"{it['calendarId']}/{it['id']}" for it in items]
        pred_set = set(predicted)
        if len(pred_set) != len(predicted):
            warnings.append(f"{pid}: {len(predicted) - len(pred_set)} duplicate ids in output")
        bad_scores = [it for it in items if not isinstance(it.get("score"), (int, float))
                      or not 0.0 <= float(it["score"]) <= 1.0]
        if bad_scores:
            warnings.append(f"{pid}: {len(bad_scores)} items with score outside [0, 1] or missing")
        starts = event_starts(dump)
        seq = [starts[k] for k in predicted if k in starts]
        if any(b < a for a, b in zip(seq, seq[1:])):
            warnings.append(f"{pid}: output is not sorted chronologically")
        unlabelled = len(pred_set - set(ev_labels))
        c = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
        fps, fns = [], []
        for key, v in ev_labels.items():
            pred = key in pred_set
            cat = cats[v["category"]]
            cat["n"] += 1
            cat["novel"] = v["novel"]
            cat["pred"] += pred
            if v["novel"] and pred:
                c["tp"] += 1
            elif v["novel"]:
                c["fn"] += 1
                fns.append((v["category"], key))
            elif pred:
                c["fp"] += 1
                fps.append((v["category"], key))
            else:
                c["tn"] += 1
        for k in tot:
            tot[k] += c[k]
        p, r, f1 = prf(c["tp"], c["fp"], c["fn"])
        rows.append({"persona": pid, "events": len(ev_labels), "novel": c["tp"] + c["fn"], **c,
                     "precision": p, "recall": r, "f1": f1, "wall_s": wall, "unlabelled_predictions": unlabelled,
                     "false_positives": fps, "false_negatives": fns})

    P, R, F1 = prf(tot["tp"], tot["fp"], tot["fn"])
    n_events = sum(r["events"] for r in rows)
    macro = sum(r["f1"] for r in rows) / len(rows) if rows else 0.0

    print(f"{'persona':32} {'events':>6} {'novel':>5} {'TP':>4} {'FP':>4} {'FN':>4} "
          f"{'P':>6} {'R':>6} {'F1':>6} {'wall s':>7} {'unlab':>5}")
    for r in rows:
        print(f"{r['persona']:32} {r['events']:6d} {r['novel']:5d} {r['tp']:4d} {r['fp']:4d} {r['fn']:4d} "
              f"{r['precision']:6.3f} {r['recall']:6.3f} {r['f1']:6.3f} {r['wall_s']:7.2f} "
              f"{r['unlabelled_predictions']:5d}")
        if args.show_errors:
            for cat, key in r["false_positives"][:args.show_errors]:
                print(f"    FP [{cat}] {key}")
            for cat, key in r["false_negatives"][:args.show_errors]:
                print(f"    FN [{cat}] {key}")
    print(f"{'ALL (micro)':32} {n_events:6d} {tot['tp'] + tot['fn']:5d} {tot['tp']:4d} {tot['fp']:4d} "
          f"{tot['fn']:4d} {P:6.3f} {R:6.3f} {F1:6.3f} {total_wall:7.2f}")
    print(f"macro-F1 over personas: {macro:.3f}")
    print()
    print(f"{'category':32} {'label':>7} {'n':>5} {'flagged':>7}   metric")
    for name in sorted(cats, key=lambda k: (not cats[k]["novel"], -cats[k]["n"], k)):
        c = cats[name]
        if c["novel"]:
            metric = f"recall {c['pred'] / c['n']:.2f}"
        else:
            metric = f"FP {c['pred']} ({c['pred'] / c['n']:.0%})"
        print(f"{name:32} {'novel' if c['novel'] else 'not':>7} {c['n']:5d} {c['pred']:7d}   {metric}")
    for w in warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump({"overall": {"precision": P, "recall": R, "f1": F1, "macro_f1": macro, "events": n_events,
                                   "personas": len(rows), **tot, "wall_s": total_wall},
                       "personas": rows, "categories": dict(cats), "warnings": warnings}, f, indent=1)
    print()
    print(f"novelty F1={F1:.3f} P={P:.3f} R={R:.3f} over {n_events} events ({len(rows)} personas)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
