"""A local alert receiver (webhook) for the alert tests."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    """A webhook on 127.0.0.1 that records every POST (path, JSON body)."""

    token: str = field(default_factory=lambda: f"tok-{uuid.uuid4().hex}")
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{self.token}"

    def start(self) -> Receiver:
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    posts.append((self.path, json.loads(raw)))
                except ValueError:
                    posts.append((self.path, {"raw": raw.decode(errors="replace")}))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, name="alert-receiver", daemon=True).start()
        return self

    def matching(self, *needles: str) -> list[dict[str, Any]]:
        """Bodies of the POSTs whose JSON contains every needle."""
        return [body for _, body in list(self.posts) if all(n in json.dumps(body) for n in needles)]

    def wait_for(self, *needles: str, timeout: float = 90.0, settle: float = 5.0) -> list[dict[str, Any]]:
        """Wait for a POST containing every needle, then a little longer (to see any duplicate)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.matching(*needles):
            time.sleep(0.5)
        if self.matching(*needles):
            time.sleep(settle)
        return self.matching(*needles)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
