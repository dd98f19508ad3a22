"""Quality on the four labelled sample personas (../shared/novelty-samples).

The directory comes from ``NOVEL_EVENTS_SAMPLES`` or defaults to ``tests/data/novelty-samples`` (a copy of ../shared)
next to the repository. It is required: a missing directory fails the test (it must not pass by
skipping). Requirements: micro F1 >= 0.95 over all labelled events, and no category of non-novel
events with more than one false positive.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from novel_events.events import CalendarDump
from novel_events.novelty import NoveltyPrefs, analyze

REPO_ROOT = Path(__file__).resolve().parents[3]
MIN_F1 = 0.95
MAX_FP_PER_CATEGORY = 1


def samples_dir() -> Path:
    configured = os.environ.get("NOVEL_EVENTS_SAMPLES")
    path = Path(configured) if configured else REPO_ROOT / "tests" / "data" / "novelty-samples"
    if not (path / "labels.json").is_file():
        pytest.fail(
            f"labelled samples not found at {path} (set NOVEL_EVENTS_SAMPLES to the directory "
            "holding labels.json and the persona dumps)"
        )
    return path


@functools.cache
def _score(root: Path) -> dict[str, Any]:
    labels = json.loads((root / "labels.json").read_text(encoding="utf-8"))
    assert labels, "labels.json lists no personas"
    tp = fp = fn = 0
    fp_by_category: Counter[str] = Counter()
    misses: list[str] = []
    for persona, lab in sorted(labels.items()):
        dump = CalendarDump.load(root / f"{persona}.json")
        now = dt.datetime.fromisoformat(lab["now"])
        found = analyze(dump, now=now, prefs=NoveltyPrefs(lookahead_days=int(lab.get("lookaheadDays", 14))))
        assert [n.start for n in found] == sorted(n.start for n in found), persona
        for n in found:
            assert 0.0 <= n.score <= 1.0
            assert 1 <= len(n.reasons) <= 3
        predicted = {f"{n.calendar_id}/{n.event_id}" for n in found}
        for key, truth in lab["events"].items():
            hit = key in predicted
            if truth["novel"] and hit:
                tp += 1
            elif truth["novel"]:
                fn += 1
                misses.append(f"FN {persona} [{truth['category']}] {key}")
            elif hit:
                fp += 1
                fp_by_category[truth["category"]] += 1
                misses.append(f"FP {persona} [{truth['category']}] {key}")
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "fp_by_category": fp_by_category,
        "misses": misses,
    }


def outcomes_() -> dict[str, Any]:
    """Scores of the samples (computed once per run; fails the calling test if they are missing)."""
    return _score(samples_dir())


def test_micro_f1() -> None:
    outcomes = outcomes_()
    assert outcomes["f1"] >= MIN_F1, (
        f"F1={outcomes['f1']:.3f} P={outcomes['precision']:.3f} R={outcomes['recall']:.3f}\n"
        + "\n".join(outcomes["misses"])
    )


def test_no_non_novel_category_leaks() -> None:
    outcomes = outcomes_()
    leaking = {c: n for c, n in outcomes["fp_by_category"].items() if n > MAX_FP_PER_CATEGORY}
    assert not leaking, f"false positives per category: {leaking}\n" + "\n".join(outcomes["misses"])


def test_missing_samples_directory_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NOVEL_EVENTS_SAMPLES", str(tmp_path / "nowhere"))
    with pytest.raises(pytest.fail.Exception, match="labelled samples not found"):
        samples_dir()
