"""The headless Chromium the browser tests drive through Playwright: Debian's package, not a download."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("NOVEL_EVENTS_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
