"""Reading an untrusted iCal source (``ics:PATH`` or ``ics:URL``) into bytes, under a policy.

- Files: only regular files inside ``ICS_ROOT`` (resolved: no ``..`` or symlink escape); unset
  ``ICS_ROOT`` refuses every local source. Opened without following a final symlink and without
  blocking (a FIFO is refused, not waited on), read up to the size cap.
- URLs: http and https only (``webcal`` means https), at most 5 redirects followed by hand, every
  hop checked by :mod:`novel_events.netguard` and connected to the very address that was checked
  (Host and TLS SNI keep the name), streamed with a cap on bytes received and on bytes decoded
  (gzip bombs), one deadline for the whole fetch.
- Errors say what was wrong and never quote what was fetched; :class:`PermanentError` (not
  retried) vs :class:`TransientError` (retried).
"""

from __future__ import annotations

import base64
import errno
import ipaddress
import os
import stat
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpcore

from novel_events import netguard
from novel_events.errors import InvalidInput, PermanentError, TransientError

MAX_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
DEADLINE = 30.0
MAX_LOCATION = 2048
_REDIRECTS = {301, 302, 303, 307, 308}
_MIB = 1024 * 1024


@dataclass(frozen=True)
class FeedPolicy:
    ics_root: Path | None = None
    allow_private: frozenset[tuple[str, int]] = frozenset()
    max_bytes: int = MAX_BYTES
    max_redirects: int = MAX_REDIRECTS
    deadline: float = DEADLINE
    # the name -> addresses lookup (default: the system resolver); tests give one that answers
    # differently on each call to show that only the first, checked answer is ever connected to
    resolver: Callable[[str, int, float], list[netguard.IPAddress]] | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> FeedPolicy:
        return cls(ics_root=settings.ics_root, allow_private=netguard.parse_allow_list(settings.ics_allow_private))


def _too_large(limit: int) -> PermanentError:
    size = f"{limit // _MIB} MiB" if limit >= _MIB else f"{limit} bytes"
    return PermanentError(f"feed larger than {size}")


def is_url(location: str) -> bool:
    return "://" in location and not location.lower().startswith("file://")


# ---------------------------------------------------------------- local files


def _file_error(what: str) -> PermanentError:
    return PermanentError(f"cannot read iCal file: {what}")


def local_path(location: str, policy: FeedPolicy) -> Path:
    """The resolved path of a local source, refused unless it is a regular file inside ICS_ROOT."""
    if policy.ics_root is None:
        raise _file_error("local iCal files are not allowed (set NOVEL_EVENTS_ICS_ROOT to the folder they live in)")
    raw = location[len("file://") :] if location.lower().startswith("file://") else location
    raw = unquote(raw) if location.lower().startswith("file://") else raw
    if "\x00" in raw:
        raise _file_error("the path is not valid")
    root = policy.ics_root.expanduser().resolve()
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = root / path
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise _file_error("not found") from None
    if not resolved.is_relative_to(root):
        raise _file_error(f"it is outside ICS_ROOT ({root})")
    try:
        st = resolved.stat()
    except OSError:
        raise _file_error("not found") from None
    if not stat.S_ISREG(st.st_mode):
        raise _file_error("not a regular file")
    return resolved


def read_file(location: str, policy: FeedPolicy) -> bytes:
    path = local_path(location, policy)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _file_error("it is a symbolic link") from None
        raise _file_error(exc.strerror or "error") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped between the check and the open
            raise _file_error("not a regular file")
        if st.st_size > policy.max_bytes:
            raise _too_large(policy.max_bytes)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(1 * _MIB, policy.max_bytes + 1 - total) or 1):
            total += len(chunk)
            if total > policy.max_bytes:
                raise _too_large(policy.max_bytes)
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise _file_error(exc.strerror or "error") from None
    finally:
        os.close(fd)


# ---------------------------------------------------------------- URLs


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    target: str  # path + query
    auth: str | None  # Basic credentials from the URL's userinfo (first origin only)


def _split(url: str) -> _Target:
    if len(url) > MAX_LOCATION or any(c in url for c in "\r\n\t\x00 "):
        raise PermanentError("feed URL is not valid")
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "webcal":
            scheme = "https"
        if scheme not in {"http", "https"}:
            raise PermanentError("feed URL must be http or https")
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise PermanentError("feed URL is not valid") from None
    if not host:
        raise PermanentError("feed URL has no host")
    auth = None
    if parts.username is not None:
        creds = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(creds.encode()).decode()
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(scheme, host, port, target, auth)


def check_url(url: str, policy: FeedPolicy, *, resolve: bool = True, timeout: float = 5.0) -> None:
    """The up-front check of ``users add/set``: scheme, and the address if the name resolves now."""
    t = _split(url)
    ip = netguard.numeric_host(t.host)
    if ip is not None:
        netguard.check_address(ip, t.host, t.port, policy.allow_private)
    elif t.host == "localhost" or t.host.endswith(".localhost"):
        netguard.check_address(ipaddress.ip_address("127.0.0.1"), t.host, t.port, policy.allow_private)
    elif resolve:
        try:
            netguard.pick_address(t.host, t.port, policy.allow_private, timeout=timeout, resolver=policy.resolver)
        except netguard.AddressNotAllowed:
            raise
        except (TransientError, PermanentError):
            pass  # cannot tell now; every fetch checks again


class _PinnedBackend(httpcore.SyncBackend):
    """Connects to the address that was checked, whatever name the URL carries."""

    def __init__(self, ip: str) -> None:
        self.ip = ip

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        return super().connect_tcp(self.ip, port, timeout, local_address, socket_options)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TransientError("feed took longer than the fetch deadline")
    return left


def _decoder(encoding: str) -> Any:
    enc = encoding.strip().lower()
    if enc in {"", "identity"}:
        return None
    if enc in {"gzip", "x-gzip"}:
        return zlib.decompressobj(wbits=31)
    if enc == "deflate":
        return zlib.decompressobj(wbits=47)
    raise PermanentError("feed uses an unsupported content encoding")


def _body(chunks: Iterator[bytes], encoding: str, limit: int, deadline: float) -> bytes:
    dec = _decoder(encoding)
    received = 0
    out = bytearray()
    for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        if dec is None:
            out += chunk
        else:
            data = chunk
            while True:  # never more than the room left: a bomb stops at limit + 1 bytes
                room = min(limit + 1 - len(out), _MIB)
                try:
                    piece = dec.decompress(data, room)
                except zlib.error:
                    raise PermanentError("feed body is not valid compressed data") from None
                out += piece
                if len(out) > limit:
                    raise _too_large(limit)
                data = dec.unconsumed_tail
                if not data and len(piece) < room:
                    break
        if len(out) > limit:
            raise _too_large(limit)
        _left(deadline)
    if dec is not None:
        out += dec.flush()
        if len(out) > limit:
            raise _too_large(limit)
    return bytes(out)


def _retry_after(value: str | None) -> float | None:
    try:
        return min(float(value), 3600.0) if value else None
    except ValueError:
        return None


def fetch_url(url: str, policy: FeedPolicy) -> bytes:
    deadline = time.monotonic() + policy.deadline
    first = _split(url)
    current = url
    for _hop in range(policy.max_redirects + 1):
        t = _split(current)
        ip = netguard.pick_address(
            t.host, t.port, policy.allow_private, timeout=min(_left(deadline), 10.0), resolver=policy.resolver
        )
        headers = [
            (b"Accept", b"text/calendar, */*;q=0.5"),
            (b"Accept-Encoding", b"gzip, deflate"),
            (b"User-Agent", b"novel-events"),
        ]
        if t.auth and (t.scheme, t.host, t.port) == (first.scheme, first.host, first.port):
            headers.append((b"Authorization", t.auth.encode()))
        location: str | None = None
        try:
            with httpcore.ConnectionPool(network_backend=_PinnedBackend(str(ip)), retries=0, max_connections=1) as pool:
                left = _left(deadline)
                name = f"[{t.host}]" if ":" in t.host else t.host
                host_header = name if t.port == (443 if t.scheme == "https" else 80) else f"{name}:{t.port}"
                origin = f"{t.scheme}://{name}"
                with pool.stream(
                    "GET",
                    f"{origin}:{t.port}{t.target}",
                    headers=[(b"Host", host_header.encode()), *headers],
                    extensions={
                        "timeout": {
                            "connect": min(left, 10.0),
                            "read": min(left, 20.0),
                            "write": min(left, 10.0),
                            "pool": min(left, 10.0),
                        }
                    },
                ) as resp:
                    status = resp.status
                    hdrs = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in resp.headers}
                    if status in _REDIRECTS:
                        location = hdrs.get("location")
                        if not location:
                            raise PermanentError(f"feed answered HTTP {status} without a Location")
                    elif status == 429 or status == 408 or status >= 500:
                        raise TransientError(
                            f"feed answered HTTP {status}", retry_after=_retry_after(hdrs.get("retry-after"))
                        )
                    elif status >= 400:
                        raise PermanentError(f"feed answered HTTP {status}")
                    elif status != 200:
                        raise PermanentError(f"feed answered HTTP {status}, not 200")
                    else:
                        length = hdrs.get("content-length", "")
                        if length.isdigit() and int(length) > policy.max_bytes:
                            raise _too_large(policy.max_bytes)
                        return _body(
                            _timed(resp.iter_stream(), deadline),
                            hdrs.get("content-encoding", ""),
                            policy.max_bytes,
                            deadline,
                        )
        except httpcore.TimeoutException:
            raise TransientError("feed timed out") from None
        except (httpcore.ConnectError, httpcore.NetworkError):
            raise TransientError("feed unreachable") from None
        except (httpcore.ProtocolError, httpcore.UnsupportedProtocol, httpcore.LocalProtocolError):
            raise PermanentError("feed did not answer with valid HTTP") from None
        if len(location) > MAX_LOCATION:
            raise PermanentError("feed redirected to a URL that is too long")
        current = urljoin(current, location)
    raise PermanentError(f"feed redirected more than {policy.max_redirects} times")


def _timed(chunks: Iterator[bytes], deadline: float) -> Iterator[bytes]:
    for chunk in chunks:
        _left(deadline)
        yield chunk


# ---------------------------------------------------------------- the one entry point


def read_feed(source: str, policy: FeedPolicy) -> bytes:
    """The bytes of an ``ics:`` source (the prefix is optional) under ``policy``."""
    location = source[4:] if source.startswith("ics:") else source
    if not location:
        raise PermanentError("iCal source is empty")
    if is_url(location):
        return fetch_url(location, policy)
    return read_file(location, policy)


def check_feed_source(source: str, policy: FeedPolicy) -> str:
    """Validate an ``ics:`` source up front (``users add/set``); returns it normalized.

    Raises :class:`InvalidInput` on ``--source`` naming what is accepted.
    """
    location = source[4:]
    try:
        if is_url(location):
            check_url(location, policy)
            return source
        return f"ics:{local_path(location, policy)}"
    except PermanentError as exc:
        raise InvalidInput("--source", f"{exc}; use ics:https://… or ics:PATH inside NOVEL_EVENTS_ICS_ROOT") from None
