"""Hostile CLI input (issue 9): one line naming the field, exit 2, nothing changed, nothing echoed."""

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
    monkeypatch.delenv("NOVEL_EVENTS_ICS_ALLOW_PRIVATE", raising=False)
    root = tmp_path / "feeds"
    root.mkdir()
    (root / "cal.ics").write_text("BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n")
    (tmp_path / "secret.txt").write_text("TOP-SECRET-LINE\n")
    (root / "escape.ics").symlink_to(tmp_path / "secret.txt")
    monkeypatch.setenv("NOVEL_EVENTS_ICS_ROOT", str(root))
    assert main(["users", "add", "ann", *GOOD, "--source", f"ics:{root / 'cal.ics'}"]) == 0
    return tmp_path


def _snapshot() -> list[object]:
    return UserStore(ready_engine(load_settings())).list()


def _fails(argv: list[str], field: str, capsys: pytest.CaptureFixture[str], *accepted: str) -> str:
    capsys.readouterr()
    before = _snapshot()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert field in err, err
    for word in accepted:
        assert word in err, err
    assert "TOP-SECRET" not in err and len(err) < 400, err
    assert _snapshot() == before
    return err


@pytest.mark.parametrize(
    ("args", "field", "accepted"),
    [
        (["users", "add", "nl\n", *GOOD], "ID", ("a-z",)),
        (["users", "add", "tab\t", *GOOD], "ID", ("a-z",)),
        (["users", "set", "ann\n", "--at", "08:00"], "ID", ("a-z",)),
        (["users", "add", "bob", "--email", "bob@example.org\r\nBcc: all@example.org", *GOOD[2:]], "--email", ()),
        (["users", "add", "bob", "--email", "bob\x00@example.org", *GOOD[2:]], "--email", ()),
        (["users", "add", "bob", "--email", "bob@example.org\n", *GOOD[2:]], "--email", ()),
        (["users", "add", "bob", "--email", "b" * 250 + "@example.org", *GOOD[2:]], "--email", ()),
        (["users", "add", "bob", *GOOD[:3], "A" * 5000, *GOOD[4:]], "--timezone", ("IANA",)),
        (["users", "add", "bob", *GOOD, "--source", "ics:https://example.org/" + "a" * 5000], "--source", ("2048",)),
        (["users", "add", "bob", *GOOD, "--source", "ics:https://example.org/x\r\nHost: evil"], "--source", ()),
        (["users", "add", "bob", *GOOD, "--source", "ics:/proc/self/environ"], "--source", ("ICS_ROOT",)),
        (["users", "add", "bob", *GOOD, "--source", "ics:file:///etc/hostname"], "--source", ("ICS_ROOT",)),
        (["users", "add", "bob", *GOOD, "--source", "ics:../secret.txt"], "--source", ("ICS_ROOT",)),
        (["users", "add", "bob", *GOOD, "--source", "ics:escape.ics"], "--source", ("ICS_ROOT",)),
        (["users", "add", "bob", *GOOD, "--source", "ics:/dev/zero"], "--source", ("ICS_ROOT",)),
        (["users", "add", "bob", *GOOD, "--source", "ics:http://127.0.0.1:8080/x.ics"], "--source", ("not allowed",)),
        (["users", "add", "bob", *GOOD, "--source", "ics:http://localhost/x.ics"], "--source", ("not allowed",)),
        (["users", "add", "bob", *GOOD, "--source", "ics:http://2130706433/x.ics"], "--source", ("not allowed",)),
        (
            ["users", "add", "bob", *GOOD, "--source", "ics:http://169.254.169.254/latest/"],
            "--source",
            ("not allowed",),
        ),
        (["users", "add", "bob", *GOOD, "--source", "ics:http://[::ffff:127.0.0.1]/x"], "--source", ("not allowed",)),
        (["users", "add", "bob", *GOOD, "--source", "ics:gopher://example.org/x"], "--source", ("http or https",)),
        (["users", "set", "ann", "--source", "ics:/etc/passwd"], "--source", ("ICS_ROOT",)),
        (["users", "set", "ann", "--source", "ics:http://10.0.0.1/cal.ics"], "--source", ("not allowed",)),
        (
            ["users", "add", "bob", *GOOD, *[a for i in range(51) for a in ("--include-calendar", f"c{i}")]],
            "--include-calendar",
            ("at most 50",),
        ),
        (["users", "add", "bob", *GOOD, "--exclude-calendar", "x" * 300], "--exclude-calendar", ("256",)),
        (["users", "set", "ann", "--include-calendar", "work\nBcc: x"], "--include-calendar", ("control",)),
    ],
)
def test_hostile_input_is_refused(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str], field: str, accepted: tuple[str, ...]
) -> None:
    _fails(args, field, capsys, *accepted)


def test_a_source_refusal_never_quotes_a_private_feed_url(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(
        ["users", "add", "bob", *GOOD, "--source", "ics:http://10.1.1.1/private-token-abc123/cal.ics"],
        "--source",
        capsys,
    )
    assert "private-token-abc123" not in err


def test_an_allow_listed_intranet_feed_is_accepted(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVEL_EVENTS_ICS_ALLOW_PRIVATE", "127.0.0.1:8080")
    assert main(["users", "add", "bob", *GOOD, "--source", "ics:http://127.0.0.1:8080/x.ics"]) == 0


def test_ids_with_underscores_are_usable_and_files_are_resolved(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "add", "team_lead", *GOOD, "--source", "ics:cal.ics"]) == 0
    capsys.readouterr()
    assert main(["users", "list", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert "team_lead" in rows


def test_a_database_url_without_a_database_is_refused(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NOVEL_EVENTS_DATABASE_URL", "postgresql+psycopg://u:hunter2@127.0.0.1:5432")
    capsys.readouterr()
    assert main(["users", "list"]) == 2
    err = capsys.readouterr().err
    assert "NOVEL_EVENTS_DATABASE_URL" in err and "names no database" in err and "hunter2" not in err
