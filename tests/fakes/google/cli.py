"""``python -m tests.fakes.google_calendar DUMP.json``: serve a dump until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading

from tests.fakes.google.constants import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN
from tests.fakes.google.fake import FakeGoogleCalendar

DESCRIPTION = "A local fake of the Google Calendar API v3 and Google's OAuth 2.0 endpoints."


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.google_calendar", description=DESCRIPTION)
    parser.add_argument("dump", help="calendar dump JSON (docs/DESIGN.md format)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--refresh-token", default=DEFAULT_REFRESH_TOKEN)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    args = parser.parse_args(argv)
    # Ctrl-C / SIGINT stops the server even when started from a background job (which inherits SIGINT
    # ignored, and Python then installs no KeyboardInterrupt handler); SIGTERM stops it too.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    fake = FakeGoogleCalendar(
        args.dump,
        refresh_token=args.refresh_token,
        client_id=args.client_id,
        client_secret=args.client_secret,
        port=args.port,
    )
    with fake:
        print(f"base URL:      {fake.base_url}")
        print(f"token URI:     {fake.token_uri}")
        print(f"auth URI:      {fake.auth_uri}")
        print(f"refresh token: {args.refresh_token}")
        print(f"NOVEL_EVENTS_GOOGLE_API_ENDPOINT={fake.base_url}")
        print(f"NOVEL_EVENTS_GOOGLE_TOKEN_URI={fake.token_uri}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
