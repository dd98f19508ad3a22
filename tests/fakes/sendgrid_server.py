"""A local fake of SendGrid's v3 ``POST /v3/mail/send`` over real HTTP on 127.0.0.1.

    with FakeSendGrid(api_key="SG.test") as sg:          # random free port
        mailer = SendGridMailer("SG.test", host=sg.url)
        sg.enqueue(Reply.rate_limited(retry_after=7))     # next send gets a 429
        ...
        sg.requests[-1].json["subject"]

Like SendGrid it checks ``Authorization: Bearer <key>`` first (401 with SendGrid's error JSON),
validates the body lightly (400 with ``{"errors": [...]}``: missing from/personalizations/content,
text/plain not first, reserved headers), and answers 202 with an ``X-Message-Id`` header. Queued
replies (fault injection) are served in order to the next authorised sends, optionally after a delay.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

RESERVED_HEADERS = {
    "x-sg-id",
    "x-sg-eid",
    "received",
    "dkim-signature",
    "content-type",
    "content-transfer-encoding",
    "to",
    "from",
    "subject",
    "reply-to",
    "cc",
    "bcc",
}


def error_body(message: str, field: str | None = None, help: str | None = None) -> dict[str, Any]:
    return {"errors": [{"message": message, "field": field, "help": help}]}


@dataclass
class Reply:
    """A canned answer for one request. ``delay`` seconds pass before it is sent."""

    status: int = 202
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def rate_limited(cls, retry_after: float | None = None, reset_in: float | None = None) -> Reply:
        headers = {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0"}
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after))
        if reset_in is not None:
            headers["X-RateLimit-Reset"] = str(int(time.time() + reset_in))
        return cls(429, error_body("too many requests"), headers)

    @classmethod
    def server_error(cls, status: int = 500) -> Reply:
        return cls(status, error_body("internal server error"))

    @classmethod
    def bad_request(cls, message: str, field: str | None = None) -> Reply:
        return cls(400, error_body(message, field))

    @classmethod
    def slow(cls, delay: float) -> Reply:
        """An ordinary 202, but only after ``delay`` seconds (for client timeout tests)."""
        return cls(202, delay=delay)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


def _validate(payload: Any) -> dict[str, Any] | None:
    """SendGrid-like validation of a mail/send body: an error body, or None if acceptable."""
    if not isinstance(payload, dict):
        return error_body("Bad Request", None)
    if not payload.get("from", {}).get("email"):
        return error_body("The from object must be provided for every email send.", "from")
    personalizations = payload.get("personalizations") or []
    if not personalizations or not all(p.get("to") for p in personalizations):
        return error_body("The personalizations field is required and must have at least one to.", "personalizations")
    if not payload.get("subject") and not all(p.get("subject") for p in personalizations):
        return error_body("The subject is required.", "subject")
    content = payload.get("content") or []
    if not content and not payload.get("template_id"):
        return error_body("Unless a valid template_id is provided, the content parameter is required.", "content")
    types = [c.get("type") for c in content]
    if "text/plain" in types and types[0] != "text/plain":
        return error_body("If present, text/plain content must be first.", "content")
    for name, value in (payload.get("headers") or {}).items():
        if name.lower() in RESERVED_HEADERS:
            return error_body(f"The header {name} is reserved.", "headers")
        if not isinstance(value, str):
            return error_body("Header values must be strings.", "headers")
    return None


class FakeSendGrid:
    """The fake server. ``requests`` records every request, authorised or not."""

    def __init__(self, api_key: str = "SG.fake-key") -> None:
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self.message_ids: list[str] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> Self:
        assert self._server is None, "already started"
        self._stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-sendgrid", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes delayed replies
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control ----------------------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        """Serve these replies, in order, to the next authorised mail/send requests."""
        with self._lock:
            self._replies.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.message_ids.clear()
            self._replies.clear()

    def sends(self) -> list[RecordedRequest]:
        """Recorded requests to POST /v3/mail/send."""
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path == "/v3/mail/send"]

    # -- serving (called from handler threads) ----------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_reply(self) -> Reply | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None

    def _respond(self, request: RecordedRequest) -> Reply:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return Reply(401, error_body("The provided authorization grant is invalid, expired, or revoked"))
        if request.path != "/v3/mail/send":
            return Reply(404, error_body("not found"))
        if request.method != "POST":
            return Reply(405, error_body("method not allowed"))
        queued = self._next_reply()
        if queued is not None and queued.status != 202:
            return queued
        try:
            problem = _validate(request.json)
        except ValueError:
            problem = error_body("Bad Request: body is not JSON")
        if problem is not None:
            return Reply(400, problem, delay=queued.delay if queued else 0.0)
        message_id = secrets.token_urlsafe(16)[:22]
        with self._lock:
            self.message_ids.append(message_id)
        headers = {"X-Message-Id": message_id}
        if queued is not None:
            headers.update(queued.headers)
        return Reply(202, None, headers, delay=queued.delay if queued else 0.0)


def _handler_for(fake: FakeSendGrid) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeSendGrid/1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
            fake._record(request)
            reply = fake._respond(request)
            if reply.delay and fake._stopping.wait(reply.delay):
                self.close_connection = True
                return
            data = json.dumps(reply.body).encode() if reply.body is not None else b""
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return Handler
