"""An iCal feed server that can hold its responses, so a test knows a run is inside its calendar fetch.
A held response trickles one byte every few seconds: the client stays inside its fetch (its read timeout
does not fire) until the hold is released.

    feed = FeedServer().start()
    feed.put("alice", ics_bytes)                  # GET /alice.ics
    feed.hold({"alice"})                          # requests for alice wait ...
    feed.wait_waiting(1)                          # ... until one is waiting
    feed.release()                                # ... then everyone is answered
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

TRICKLE_SECONDS = 5.0


class FeedServer:
    def __init__(self) -> None:
        self._bodies: dict[str, bytes] = {}
        self._held: set[str] = set()
        self._hold_all = False
        self._delay = 0.0
        self._cond = threading.Condition()
        self.waiting: set[str] = set()
        self.requests = 0
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, uid: str) -> str:
        return f"http://{self.hostport}/{uid}.ics"

    def start(self) -> Self:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                uid = self.path.strip("/").removesuffix(".ics")
                body = owner._bodies.get(uid)
                if body is None:
                    self.send_error(404)
                    return
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/calendar")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    sent = 0
                    # held: trickle a byte every few seconds (the client's read timeout never fires)
                    while owner._still_held(uid, first=sent == 0) and sent < len(body) - 1:
                        self.wfile.write(body[sent : sent + 1])
                        self.wfile.flush()
                        sent += 1
                    owner._done(uid)
                    if owner._delay:
                        time.sleep(owner._delay)
                    self.wfile.write(body[sent:])
                except OSError:  # the client was killed or gave up while we held the response
                    owner._done(uid)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name="feed", daemon=True).start()
        return self

    def stop(self) -> None:
        self.release()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def put(self, uid: str, body: bytes) -> None:
        self._bodies[uid] = body

    def hold(self, uids: set[str] | None = None) -> None:
        """Hold the responses for ``uids`` (every uid when None) until :meth:`release`."""
        with self._cond:
            if uids is None:
                self._hold_all = True
            else:
                self._held |= uids

    def slow(self, seconds: float) -> None:
        self._delay = seconds

    def release(self) -> None:
        with self._cond:
            self._held.clear()
            self._hold_all = False
            self._cond.notify_all()

    def wait_waiting(self, n: int, timeout: float) -> bool:
        """Until at least ``n`` requests are being held; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.waiting) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 1.0))
        return True

    def held_now(self) -> set[str]:
        """The uids whose responses are being held at this moment."""
        with self._cond:
            return set(self.waiting)

    def _still_held(self, uid: str, *, first: bool) -> bool:
        """Is ``uid`` held? (waits a few seconds when it is, so the caller trickles slowly)."""
        with self._cond:
            if first:
                self.requests += 1
            if not (self._hold_all or uid in self._held):
                return False
            self.waiting.add(uid)
            self._cond.notify_all()
            self._cond.wait(TRICKLE_SECONDS)
            return self._hold_all or uid in self._held

    def _done(self, uid: str) -> None:
        with self._cond:
            self.waiting.discard(uid)
