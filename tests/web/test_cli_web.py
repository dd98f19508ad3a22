"""`novel-events web` refuses to start half-configured; `up` gives a laptop a stable key and URL."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cli.app import main
from cli.webcmd import local_web_env


def test_web_needs_secret_key_and_public_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("NOVEL_EVENTS_HOME", str(tmp_path))
    monkeypatch.delenv("NOVEL_EVENTS_SECRET_KEY", raising=False)
    monkeypatch.setenv("NOVEL_EVENTS_PUBLIC_URL", "https://digest.example.org")
    assert main(["web", "--port", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "NOVEL_EVENTS_SECRET_KEY" in err
    monkeypatch.setenv("NOVEL_EVENTS_SECRET_KEY", "s" * 32)
    monkeypatch.delenv("NOVEL_EVENTS_PUBLIC_URL")
    assert main(["web", "--port", "1"]) == 2
    assert "NOVEL_EVENTS_PUBLIC_URL" in capsys.readouterr().err


def test_up_keeps_one_private_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NOVEL_EVENTS_SECRET_KEY", raising=False)
    monkeypatch.delenv("NOVEL_EVENTS_PUBLIC_URL", raising=False)
    first = local_web_env(tmp_path, 8081)
    assert first["NOVEL_EVENTS_PUBLIC_URL"] == "http://127.0.0.1:8081" and len(first["NOVEL_EVENTS_SECRET_KEY"]) >= 40
    assert local_web_env(tmp_path, 8081) == first  # links in sent emails keep working after a restart
    assert stat.S_IMODE((tmp_path / "web-secret-key").stat().st_mode) == 0o600
    monkeypatch.setenv("NOVEL_EVENTS_SECRET_KEY", "operator-chosen-key-0123456789")
    assert "NOVEL_EVENTS_SECRET_KEY" not in local_web_env(tmp_path, 8081)
