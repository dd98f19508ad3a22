"""Which network addresses an untrusted URL (a user's iCal feed) may reach.

A feed URL is typed by a user and fetched by our workers, inside our network. Only public unicast
addresses are allowed: loopback, private, shared (CGNAT), link-local (cloud metadata at
169.254.169.254), multicast, reserved, unspecified and documentation ranges are refused for IPv4
and IPv6, including IPv4 addresses hidden in IPv6 (``::ffff:127.0.0.1``, NAT64, 6to4) and the
legacy numeric host forms (``2130706433``, ``0x7f.1``, ``017700000001``) that resolvers accept.
An operator can let named ``host:port`` pairs through (``NOVEL_EVENTS_ICS_ALLOW_PRIVATE``), e.g. an
intranet feed or a test server.

Pure except :func:`resolve`, which asks the system resolver (with a deadline).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable

from novel_events.errors import InvalidInput, PermanentError, TransientError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressNotAllowed(PermanentError):
    """The URL leads to an address a feed may not come from."""


def parse_allow_list(value: str | Iterable[str] | None) -> frozenset[tuple[str, int]]:
    """``"feeds.intra:443, 127.0.0.1:8080, [::1]:9000"`` -> {(host, port), …}; bad entries raise."""
    if value is None:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else list(value)
    out: set[tuple[str, int]] = set()
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        host = host.strip("[]").lower()
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidInput("NOVEL_EVENTS_ICS_ALLOW_PRIVATE", f"{item!r} is not host:port")
        out.add((host, int(port)))
    return frozenset(out)


def numeric_host(host: str) -> IPAddress | None:
    """The address a numeric host stands for, in any form a resolver accepts; None for names."""
    h = host.strip("[]")
    try:
        return ipaddress.ip_address(h.split("%", 1)[0])
    except ValueError:
        pass
    try:  # inet_aton accepts 2130706433, 0x7f.1, 0177.0.0.1, 127.1 — as glibc's resolver does
        return ipaddress.IPv4Address(socket.inet_aton(h))
    except (OSError, ValueError):
        return None


def address_allowed(ip: IPAddress) -> bool:
    """True only for a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return address_allowed(ip.ipv4_mapped)
        if ip in _NAT64:
            return address_allowed(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None:
            return address_allowed(ip.sixtofour)
        if ip.teredo is not None:
            return False
    bad = (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )
    return not bad


def check_address(ip: IPAddress, host: str, port: int, allow: frozenset[tuple[str, int]]) -> None:
    """Raise :class:`AddressNotAllowed` unless ``ip`` is public or ``host:port`` is allow-listed."""
    if (host.strip("[]").lower(), port) in allow or (str(ip), port) in allow:
        return
    if not address_allowed(ip):
        raise AddressNotAllowed(
            "feed address not allowed: it points inside a private network "
            "(list host:port in NOVEL_EVENTS_ICS_ALLOW_PRIVATE to allow an intranet feed)"
        )


def resolve(host: str, port: int, *, timeout: float) -> list[IPAddress]:
    """Every address ``host`` resolves to (numeric forms included), within ``timeout`` seconds."""
    ip = numeric_host(host)
    if ip is not None:
        return [ip]
    box: dict[str, object] = {}

    def lookup() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            box["error"] = exc

    t = threading.Thread(target=lookup, name="feed-dns", daemon=True)
    t.start()
    t.join(max(timeout, 0.0))
    if t.is_alive():
        raise TransientError("feed host name lookup timed out")
    if "error" in box:
        err = box["error"]
        if isinstance(err, socket.gaierror) and err.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
            raise PermanentError("feed host not found")
        raise TransientError("feed host name lookup failed")
    addrs: list[IPAddress] = []
    for info in box["infos"]:  # type: ignore[attr-defined]
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if addr not in addrs:
            addrs.append(addr)
    if not addrs:
        raise PermanentError("feed host not found")
    return addrs


def _system(host: str, port: int, timeout: float) -> list[IPAddress]:
    return resolve(host, port, timeout=timeout)


def pick_address(
    host: str,
    port: int,
    allow: frozenset[tuple[str, int]],
    *,
    timeout: float,
    resolver: Callable[[str, int, float], list[IPAddress]] | None = None,
) -> IPAddress:
    """The one address to connect to: every address the name resolves to must be allowed.

    The caller connects to exactly this address (not the name again), so a name that answers
    a public address now and a private one a moment later (DNS rebinding) gains nothing.
    """
    ip = numeric_host(host)
    addrs = [ip] if ip is not None else (resolver or _system)(host, port, timeout)
    if not addrs:
        raise PermanentError("feed host not found")
    for ip in addrs:
        check_address(ip, host, port, allow)
    return addrs[0]
