"""Tests run in a clean environment whatever the developer's shell exports (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.env import ROOT, strip_foreign_environment


def test_strip_removes_only_our_and_prefects_variables() -> None:
    env = {
        "NOVEL_EVENTS_SMTP_URL": "smtp://x",
        "PREFECT_API_URL": "http://elsewhere/api",
        "PATH": "/bin",
        "MY_PREFECT_NOTE": "kept",
        "HOME": "/root",
    }
    assert strip_foreign_environment(env) == ["NOVEL_EVENTS_SMTP_URL", "PREFECT_API_URL"]
    assert env == {"PATH": "/bin", "MY_PREFECT_NOTE": "kept", "HOME": "/root"}


def test_conftest_cleans_a_leaky_shell_before_settings_are_read() -> None:
    leaky = {
        **os.environ,
        "NOVEL_EVENTS_EMAIL_BACKEND": "smtp",
        "NOVEL_EVENTS_SMTP_URL": "smtp://u:p@mail:25",
        "PREFECT_API_URL": "http://127.0.0.1:9/api",
        "PREFECT_PROFILES_PATH": "/nonexistent/profiles.toml",
        "NOVEL_EVENTS_HOME": "/developer/home",
    }
    probe = (
        "import os, tests.conftest\n"
        "from novel_events.settings import load_settings\n"
        "from prefect.settings import get_current_settings\n"
        "s = load_settings()\n"
        "print(sorted(k for k in os.environ if k.startswith(('NOVEL_EVENTS_', 'PREFECT_'))))\n"
        "print(s.email_backend, s.smtp_url, get_current_settings().api.url)\n"
        "print(s.home)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=leaky, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    names, settings, home = out.stdout.strip().splitlines()
    assert names == "['NOVEL_EVENTS_HOME', 'PREFECT_HOME']"
    assert settings == "outbox None None"
    assert home != "/developer/home" and "novel-events-tests-home-" in home
