"""The fake Google's HTTP side: a route table, fault injection, Google-style JSON replies, the request log.

Adding an endpoint is one decorated function (in its own module, imported by ``tests/fakes/google/__init__``)::

    from tests.fakes.google.app import Exchange, route


    @route("GET", "/o/oauth2/v2/auth")
    def authorize(exchange: Exchange) -> None:
        exchange.redirect(exchange.fake.consent(exchange.params()))

A handler fills the :class:`Exchange` (status, body, headers, account) or raises ``ApiError`` /
``OAuthError``; faults queued with ``FakeGoogleCalendar.enqueue`` are applied here, for every route.
"""

from __future__ import annotations

import email.utils
import gzip
import json
import sys
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from tests.fakes.google.constants import API_PREFIX
from tests.fakes.google.errors import ApiError, OAuthError, google_error
from tests.fakes.google.faults import Fault, RecordedRequest

if TYPE_CHECKING:
    from tests.fakes.google.fake import FakeGoogleCalendar


@dataclass
class Exchange:
    """One request and the reply being built for it."""

    fake: FakeGoogleCalendar
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    raw: bytes
    status: int = 200
    body: Any = None
    reply_headers: dict[str, str] = field(default_factory=dict)
    account: str | None = None
    fault: Fault | None = None

    def params(self) -> dict[str, str]:
        """The query string, first value of each parameter."""
        return {k: v[0] for k, v in self.query.items()}

    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body, first value of each field."""
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.raw.decode()).items()}

    def take_fault(self, account: str | None) -> Fault | None:
        """The next queued fault for this path and ``account`` (kept on the exchange)."""
        self.fault = self.fake._take_fault(self.path, account)
        return self.fault

    def redirect(self, location: str) -> None:
        self.status, self.body, self.reply_headers = 302, {}, {"Location": location}


Handler_ = Callable[[Exchange], None]
_EXACT: dict[tuple[str, str], Handler_] = {}
_PREFIX: list[tuple[str, str, Handler_]] = []


def route(method: str, path: str, *, prefix: bool = False) -> Callable[[Handler_], Handler_]:
    """Register ``handler`` for ``method`` on ``path`` (or every path under it with ``prefix=True``)."""

    def register(handler: Handler_) -> Handler_:
        if prefix:
            _PREFIX.append((method, path, handler))
        else:
            _EXACT[(method, path)] = handler
        return handler

    return register


def find_route(method: str, path: str) -> Handler_ | None:
    handler = _EXACT.get((method, path))
    if handler is None:
        handler = next((h for m, p, h in _PREFIX if m == method and path.startswith(p)), None)
    return handler


class FakeGoogleServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGoogleCalendar

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is part of the tests, not an error of the fake.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeGoogle/1.0"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    server: FakeGoogleServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        ex = Exchange(
            fake=self.server.fake,
            method=method,
            path=url.path,
            query=urllib.parse.parse_qs(url.query, keep_blank_values=True),
            headers=self.headers,  # type: ignore[arg-type]
            raw=self.rfile.read(length) if length else b"",
        )
        try:
            handler = find_route(method, url.path)
            if handler is None:
                raise ApiError(404, "notFound", "Not Found")
            handler(ex)
        except (ApiError, OAuthError) as exc:
            ex.status, ex.body = exc.code, exc.body
        if ex.fault is not None:
            ex.fake._sleep(ex.fault.delay)
            if ex.fault.drop:
                self.close_connection = True
                self._log(ex, 0)
                return
            if ex.fault.status is not None:
                self._apply(ex, ex.fault)
        data = self._encode(ex.body, ex.query)
        # Recorded before the reply leaves, so a client that got its answer finds the request logged.
        self._log(ex, len(data))
        self._reply(ex.status, data, ex.reply_headers)

    def _apply(self, ex: Exchange, fault: Fault) -> None:
        """Replace the reply with the fault's error."""
        assert fault.status is not None
        ex.status = fault.status
        message = fault.message
        if fault.echo:
            message = f"echo: {self.headers.get('Authorization')} {ex.raw.decode(errors='replace')}"
        if isinstance(fault.body, str):  # a raw, non-JSON-object body (a proxy's page, say)
            ex.body = fault.body + (f" {message}" if fault.echo else "")
        elif fault.body is not None:
            ex.body = fault.body
        elif ex.path == "/token":
            default = "temporarily_unavailable" if ex.status >= 500 else "invalid_request"
            ex.body = {"error": fault.reason or default, "error_description": message or "fault"}
        else:
            ex.body = google_error(ex.status, fault.reason, message)
        ex.reply_headers = {}
        if fault.retry_after is not None:
            ra = fault.retry_after
            ex.reply_headers["Retry-After"] = ra if isinstance(ra, str) else str(int(ra))

    def _encode(self, body: Any, query: Mapping[str, list[str]]) -> bytes:
        pretty = query.get("prettyPrint", ["true"])[0] != "false"
        data = json.dumps(body, indent=2 if pretty else None, ensure_ascii=False).encode()
        if self._gzip:
            data = gzip.compress(data, compresslevel=6, mtime=0)
        return data

    @property
    def _gzip(self) -> bool:
        return "gzip" in self.headers.get("Accept-Encoding", "") and "gzip" in self.headers.get("User-Agent", "")

    def _reply(self, status: int, data: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Date", email.utils.formatdate(usegmt=True))
        if self._gzip:
            self.send_header("Content-Encoding", "gzip")
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _log(self, ex: Exchange, sent: int) -> None:
        status = 0 if sent == 0 and ex.fault is not None and ex.fault.drop else ex.status
        ex.fake._record(
            RecordedRequest(ex.method, ex.path, dict(ex.query), status, sent, ex.account, ex.fault is not None)
        )


# -- the routes Google serves ---------------------------------------------------------------------------------


@route("POST", "/token")
def token(ex: Exchange) -> None:
    """OAuth token endpoint (refresh token, JWT bearer, authorization code)."""
    from tests.fakes.google.oauth import _basic_client_auth

    form = ex.form()
    form.update(_basic_client_auth(ex.headers.get("Authorization")))
    owner = ex.fake.refresh_tokens.get(form.get("refresh_token", ""))
    ex.account = owner[0] if owner else None
    fault = ex.take_fault(ex.account)
    if fault is None or fault.status is None:
        ex.account, ex.body = ex.fake.token_endpoint(form)


@route("GET", "/auth")
def consent_screen(ex: Exchange) -> None:
    """The consent screen: consents at once and redirects to ``redirect_uri``."""
    ex.redirect(ex.fake.consent(ex.params()))


@route("GET", API_PREFIX, prefix=True)
def calendar_api(ex: Exchange) -> None:
    """Every Calendar API v3 call: bearer token first, then the fault queue, then the API."""
    scopes: frozenset[str] = frozenset()
    try:
        ex.account, scopes = ex.fake.authenticate(ex.headers.get("Authorization"))
    except ApiError:
        fault = ex.take_fault(None)
        if fault is None or fault.status is None:
            raise
    if ex.fault is None:
        ex.take_fault(ex.account)
    if ex.fault is None or ex.fault.status is None:
        assert ex.account is not None
        ex.body = ex.fake.api(ex.account, scopes, ex.path, ex.query)
