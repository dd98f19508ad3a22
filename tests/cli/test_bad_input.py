"""Every CLI field: bad input -> one line naming the field and what is accepted, exit 2, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.app import main
from novel_events.settings import load_settings
from novel_events.store import UserStore
from tasks.store import ready_engine

GOOD = ["--email", "ann@example.org", "--timezone", "Europe/Berlin", "--schedule", "daily", "--at", "07:00"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NOVEL_EVENTS_HOME", str(tmp_path))
    monkeypatch.delenv("NOVEL_EVENTS_DATABASE_URL", raising=False)
    monkeypatch.setenv("NOVEL_EVENTS_ICS_ROOT", str(tmp_path))
    ics = tmp_path / "cal.ics"
    ics.write_text("BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n")
    assert main(["users", "add", "ann", *GOOD, "--source", f"ics:{ics}"]) == 0
    return tmp_path


def _snapshot() -> list[object]:
    return UserStore(ready_engine(load_settings())).list()


def _fails(argv: list[str], field: str, capsys: pytest.CaptureFixture[str], *accepted: str) -> None:
    capsys.readouterr()
    before = _snapshot()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert field in err, err
    for word in accepted:
        assert word in err, err
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("args", "field", "accepted"),
    [
        (["users", "add", "Bob!", *GOOD], "ID", ("a-z",)),
        (["users", "add", "bob@example.org", *GOOD], "ID", ("a-z",)),
        (["users", "add", "x" * 65, *GOOD], "ID", ("1-64",)),
        (["users", "add", "bob", *GOOD[:1], "not-an-email", *GOOD[2:]], "--email", ("name@example.com",)),
        (["users", "add", "bob", *GOOD[:3], "Mars/Base", *GOOD[4:]], "--timezone", ("IANA",)),
        (["users", "add", "bob", *GOOD[:5], "hourly", *GOOD[6:]], "--schedule", ("daily", "weekly")),
        (["users", "add", "bob", *GOOD[:7], "25:00"], "--at", ("HH:MM",)),
        (["users", "add", "bob", *GOOD, "--day", "mon"], "--day", ("weekly",)),
        (["users", "add", "bob", *GOOD[:5], "weekly", *GOOD[6:]], "--day", ("mon",)),
        (["users", "add", "bob", *GOOD[:5], "weekly", *GOOD[6:], "--day", "someday"], "--day", ("mon", "sun")),
        (["users", "add", "bob", *GOOD, "--lookahead-days", "0"], "--lookahead-days", ("1-60",)),
        (["users", "add", "bob", *GOOD, "--lookahead-days", "61"], "--lookahead-days", ("1-60",)),
        (["users", "add", "bob", *GOOD, "--lookahead-days", "soon"], "--lookahead-days", ()),
        (["users", "add", "bob", *GOOD, "--source", "outlook"], "--source", ("google", "ics:")),
        (["users", "add", "bob", *GOOD, "--source", "ics:/nonexistent/cal.ics"], "--source", ("not found",)),
        (["users", "add", "bob", *GOOD, "--sensitivity", "max"], "--sensitivity", ("low", "high")),
        (["users", "add", "bob"], "--email", ()),
        (["users", "add", "ann", *GOOD], "ID", ("already exists",)),
        (["users", "set", "ann", "--at", "7pm"], "--at", ("HH:MM",)),
        (["users", "set", "ann", "--timezone", "Europe/Nowhere"], "--timezone", ("IANA",)),
        (["users", "set", "ann", "--day", "tue"], "--day", ("weekly",)),
        (["users", "set", "ann", "--schedule", "weekly"], "--day", ("mon",)),
        (["users", "set", "ann", "--email", "a@"], "--email", ()),
        (["users", "set", "ann", "--lookahead-days", "100"], "--lookahead-days", ("1-60",)),
        (["users", "set", "nobody", "--at", "07:00"], "nobody", ("unknown user",)),
        (["users", "remove", "nobody"], "nobody", ("unknown user",)),
        (["users", "remove", "NOT VALID"], "ID", ()),
        (["run", "nobody"], "nobody", ("unknown user",)),
        (["preview", "nobody"], "nobody", ("unknown user",)),
        (["preview", "ann", "--out", "/nonexistent/dir/x.html"], "--out", ("does not exist",)),
        (["status", "--user", "nobody"], "nobody", ("unknown user",)),
        (["users", "frobnicate"], "frobnicate", ()),
        (["init", "--pool-type", "docker"], "--pool-type", ("novel-events", "process")),
        (["up", "--worker-type", "kubernetes"], "--worker-type", ("novel-events", "process")),
    ],
)
def test_bad_input(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str], field: str, accepted: tuple[str, ...]
) -> None:
    _fails(args, field, capsys, *accepted)


def test_analyze_bad_input(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dump = home / "dump.json"
    dump.write_text(json.dumps({"timeZone": "UTC", "calendars": []}))
    bad_json = home / "bad.json"
    bad_json.write_text("{nope")
    now = ["--now", "2026-01-01T00:00:00Z", "--json"]
    _fails(["analyze", str(home / "missing.json"), *now], "DUMP", capsys, "cannot read")
    _fails(["analyze", str(bad_json), *now], "DUMP", capsys, "not JSON")
    _fails(["analyze", str(dump), "--now", "yesterday", "--json"], "--now", capsys, "ISO 8601")
    _fails(["analyze", str(dump), *now, "--lookahead-days", "90"], "--lookahead-days", capsys, "1-60")
    bad_tz = home / "tz.json"
    bad_tz.write_text(json.dumps({"timeZone": "Nowhere/City", "calendars": []}))
    _fails(["analyze", str(bad_tz), *now], "timeZone", capsys, "IANA")


def test_good_changes_are_applied(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "set", "ann", "--schedule", "weekly", "--day", "fri", "--at", "18:00", "--disable"]) == 0
    (ann,) = _snapshot()
    assert ann.schedule.cron == "0 18 * * 5" and ann.enabled is False  # type: ignore[attr-defined]
    capsys.readouterr()
    assert main(["users", "set", "ann", "--at", "18:00"]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert main(["users", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["id"] == "ann" and rows[0]["nextLocal"] is None  # paused: no next digest
    assert main(["users", "set", "ann", "--no-all-day", "--declined", "--send-when-empty"]) == 0
    (ann,) = _snapshot()
    assert (ann.include_all_day, ann.include_declined, ann.send_when_empty) == (False, True, True)  # type: ignore[attr-defined]
    assert main(["users", "set", "ann", "--enable"]) == 0
    capsys.readouterr()
    assert main(["users", "list", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["nextLocal"].endswith(("+01:00", "+02:00")) and "T18:00:00" in row["nextLocal"]
    assert row["nextUtc"].endswith("Z")
