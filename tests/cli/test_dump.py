"""``novel-events dump``: the dump a digest would analyze on stdout, skipped events on stderr (exit 0);
bad input is one line naming the field, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.app import main

DATA = Path(__file__).resolve().parents[1] / "data" / "ics"
GOOD = ["--email", "ann@example.org", "--timezone", "America/New_York", "--schedule", "daily", "--at", "07:00"]


@pytest.fixture(autouse=True)
def ics_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local feeds are read only inside ICS_ROOT: here, the test corpus."""
    monkeypatch.setenv("NOVEL_EVENTS_ICS_ROOT", str(DATA))


def test_a_file_outside_ics_root_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "secret.ics"
    outside.write_bytes((DATA / "exdate.ics").read_bytes())
    argv = ["dump", f"ics:{outside}", "--start", "2026-11-01", "--end", "2026-12-01"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "ICS_ROOT" in captured.err and len(captured.err.strip().splitlines()) == 1


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NOVEL_EVENTS_HOME", str(tmp_path))
    monkeypatch.delenv("NOVEL_EVENTS_DATABASE_URL", raising=False)
    return tmp_path


def test_ics_source_prints_the_dump_and_lists_skipped_events(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "dump",
        f"ics:{DATA / 'no_dtstart.ics'}",
        "--start",
        "2026-11-01",
        "--end",
        "2026-12-01",
        "--timezone",
        "Europe/Berlin",
    ]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    dump = json.loads(out)
    assert dump["timeZone"] == "Europe/Berlin"
    assert [(e["id"], e["summary"]) for e in dump["calendars"][0]["items"]] == [("review-1", "Quarterly review")]
    assert err.splitlines() == ["event 'Board meeting' (UID board-1) has no start; skipped"]


def test_window_bounds_and_series_ids(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "dump",
        f"ics:{DATA / 'recurrence_id_override.ics'}",
        "--start",
        "2026-02-09T00:00:00Z",
        "--end",
        "2026-02-17",
    ]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    items = json.loads(out)["calendars"][0]["items"]
    assert [e["id"] for e in items] == ["weekly-sync_20260209T100000Z", "weekly-sync_20260216T100000Z"]
    assert err == ""


def test_a_user_id_reads_that_users_feed_in_their_zone(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "add", "ann", *GOOD, "--source", f"ics:{DATA / 'exdate.ics'}"]) == 0
    capsys.readouterr()
    assert main(["dump", "ann", "--start", "2026-04-01", "--end", "2026-05-01"]) == 0
    dump = json.loads(capsys.readouterr().out)
    assert dump["timeZone"] == "America/New_York"
    assert [e["start"]["dateTime"] for e in dump["calendars"][0]["items"]] == [
        "2026-04-06T07:00:00-04:00",
        "2026-04-08T07:00:00-04:00",
        "2026-04-10T07:00:00-04:00",
    ]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["ics:/nonexistent/feed.ics", "--start", "2026-01-01", "--end", "2026-02-01"], "SOURCE"),
        (["ics:", "--start", "2026-01-01", "--end", "2026-02-01"], "SOURCE"),
        (["Not A User", "--start", "2026-01-01", "--end", "2026-02-01"], "SOURCE"),
        (["google", "--start", "2026-01-01", "--end", "2026-02-01"], "--user"),
        ([f"ics:{DATA / 'exdate.ics'}", "--start", "yesterday", "--end", "2026-02-01"], "--start"),
        ([f"ics:{DATA / 'exdate.ics'}", "--start", "2026-02-01", "--end", "2026-01-01"], "--end"),
        (
            [f"ics:{DATA / 'exdate.ics'}", "--start", "2026-01-01", "--end", "2026-02-01", "--timezone", "Mars/X"],
            "--timezone",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], field: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dump", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and field in err, err


def test_unknown_user_is_bad_input(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", "nobody", "--start", "2026-01-01", "--end", "2026-02-01"]) == 2
    assert "nobody" in capsys.readouterr().err
