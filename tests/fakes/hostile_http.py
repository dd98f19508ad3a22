"""A hostile iCal feed server over real HTTP on 127.0.0.1 (the attacker's side of issue 9).

    with HostileHTTP() as srv:
        srv.url("/huge")            # 1 GiB body, no Content-Length (close-delimited)
        srv.url("/huge-declared")   # Content-Length: 1 GiB
        srv.url("/gzip-bomb")       # ~200 KiB of gzip that inflates to 256 MiB
        srv.url("/endless")         # never stops sending
        srv.url("/trickle")         # one byte every 0.2 s, for ever
        srv.url("/stall")           # headers, then silence
        srv.url("/redirect?to=URL") # 302 to URL (e.g. inward, to 127.0.0.1 or 169.254.169.254)
        srv.url("/chain/7")         # 7 redirects, then a valid feed
        srv.url("/loop")            # redirects to itself
        srv.url("/status/404")      # an error status whose body carries SECRET
        srv.url("/ok")              # a small valid feed
        srv.url("/ok-gzip")         # the same, gzip-encoded
        srv.put("a.ics", data)      # a real feed at /feeds/a.ics

Every request is recorded in ``srv.requests`` (path, headers). Bodies of error and redirect answers
carry :data:`SECRET`, the string that must never appear in a fetch error.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

SECRET = "AWS_SECRET_ACCESS_KEY=hostile-echo-7f3a9c"
GIB = 1024 * 1024 * 1024
BOMB_SIZE = 256 * 1024 * 1024

OK_ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hostile//EN\r\nX-WR-CALNAME:Hostile\r\n"
    b"BEGIN:VEVENT\r\nUID:one@hostile\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20300101T090000Z\r\n"
    b"DTEND:20300101T100000Z\r\nSUMMARY:Harmless\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)

_bomb: bytes | None = None
_bomb_lock = threading.Lock()


def gzip_bomb() -> bytes:
    """256 MiB of zeros, gzip-compressed (~250 KiB), built once per process."""
    global _bomb
    with _bomb_lock:
        if _bomb is None:
            comp = zlib.compressobj(9, zlib.DEFLATED, 31)
            block = b"\0" * (1024 * 1024)
            parts = [comp.compress(block) for _ in range(BOMB_SIZE // len(block))]
            parts.append(comp.flush())
            _bomb = b"".join(parts)
        return _bomb


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self._head(status, {"Content-Length": str(len(body)), "Content-Type": "text/calendar", **(headers or {})})
        self.wfile.write(body)

    def _stream(self, chunk: bytes, total: int | None, pause: float = 0.0) -> None:
        """Close-delimited body (no length): ``total`` bytes of ``chunk`` repeated, or for ever."""
        self.close_connection = True
        self._head(200, {"Content-Type": "text/calendar", "Connection": "close"})
        sent = 0
        try:
            while total is None or sent < total:
                self.wfile.write(chunk)
                self.wfile.flush()
                sent += len(chunk)
                if pause:
                    time.sleep(pause)
                if self.server.stopping.is_set():
                    return
        except (BrokenPipeError, ConnectionResetError, OSError):
            return

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        self.server.requests.append((self.path, dict(self.headers.items())))
        secret_body = f"internal reply: {SECRET}\n".encode()
        if path.startswith("/feeds/") and path[7:] in self.server.files:
            self._send(200, self.server.files[path[7:]])
        elif path == "/ok":
            self._send(200, OK_ICS)
        elif path == "/ok-gzip":
            self._send(200, gzip.compress(OK_ICS), {"Content-Encoding": "gzip"})
        elif path == "/huge":
            self._stream(b"A" * 65536, GIB)
        elif path == "/huge-declared":
            self._head(200, {"Content-Length": str(GIB), "Content-Type": "text/calendar"})
            self.close_connection = True
        elif path == "/gzip-bomb":
            self._send(200, gzip_bomb(), {"Content-Encoding": "gzip"})
        elif path == "/endless":
            self._stream(b"BEGIN:VEVENT\r\n" * 4096, None)
        elif path == "/trickle":
            self._stream(b"B", None, pause=0.2)
        elif path == "/stall":
            self._head(200, {"Content-Length": "100", "Content-Type": "text/calendar"})
            self.wfile.flush()
            self.server.stopping.wait(60)
            self.close_connection = True
        elif path == "/redirect":
            self._send(302, secret_body, {"Location": query.get("to", ["/ok"])[0]})
        elif path.startswith("/chain/"):
            n = int(path.rsplit("/", 1)[1])
            self._send(302, secret_body, {"Location": f"/chain/{n - 1}" if n > 1 else "/ok"})
        elif path == "/loop":
            self._send(302, secret_body, {"Location": "/loop"})
        elif path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[1]), secret_body)
        elif path == "/echo-garbage":
            self._send(200, secret_body * 3)
        else:
            self._send(404, secret_body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[tuple[str, dict[str, str]]]
    stopping: threading.Event
    files: dict[str, bytes]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-body is the point of most of these answers


class HostileHTTP:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self._srv = _Server((host, 0), _Handler)
        self._srv.requests = []
        self._srv.stopping = threading.Event()
        self._srv.files = {}
        self.host = host
        self.port = int(self._srv.server_address[1])
        self._thread = threading.Thread(target=self._srv.serve_forever, name="hostile-http", daemon=True)

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        return self._srv.requests

    @property
    def allow(self) -> str:
        """The ``ICS_ALLOW_PRIVATE`` entry that lets a fetch reach this server."""
        return f"{self.host}:{self.port}"

    def put(self, name: str, data: bytes) -> str:
        """Serve ``data`` as a well-behaved feed at ``/feeds/<name>``; returns its URL."""
        self._srv.files[name] = data
        return self.url(f"/feeds/{name}")

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._srv.stopping.set()
        self._srv.shutdown()
        self._srv.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
