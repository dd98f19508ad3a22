"""Feeds served by a hostile HTTP server: refused, bounded in memory, nothing echoed."""

from __future__ import annotations

import gc
import ipaddress
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from novel_events import netguard
from novel_events.errors import PermanentError, TransientError
from novel_events.sources.feeds import MAX_BYTES, FeedPolicy, read_feed
from tests.fakes.hostile_http import OK_ICS, SECRET, HostileHTTP

BOUND = MAX_BYTES + 12 * 1024 * 1024  # peak traced memory of one refused fetch: the 20 MiB cap + chunks


@pytest.fixture(scope="module")
def srv() -> Iterator[HostileHTTP]:
    with HostileHTTP() as s:
        yield s


@pytest.fixture(scope="module")
def other() -> Iterator[HostileHTTP]:
    """A second local server that is NOT allow-listed: the 'inside' an attacker wants to reach."""
    with HostileHTTP() as s:
        yield s


def policy(srv: HostileHTTP, **kw: Any) -> FeedPolicy:
    return FeedPolicy(allow_private=netguard.parse_allow_list(srv.allow), **kw)


def peak_of(fn: Callable[[], object]) -> tuple[BaseException | None, int]:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        err: BaseException | None = None
    except BaseException as exc:
        err = exc
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return err, peak


def assert_clean(err: BaseException | None) -> str:
    assert err is not None, "the fetch should have been refused"
    text = f"{err} {err!r}"
    assert SECRET not in text and "internal reply" not in text and "BEGIN:VEVENT" not in text
    assert err.__cause__ is None or SECRET not in str(err.__cause__)
    return str(err)


def test_a_feed_on_an_allowed_server_is_read(srv: HostileHTTP) -> None:
    assert read_feed(f"ics:{srv.url('/ok')}", policy(srv)) == OK_ICS
    assert read_feed(f"ics:{srv.url('/ok-gzip')}", policy(srv)) == OK_ICS  # decoded


@pytest.mark.parametrize("path", ["/huge", "/endless"])
def test_an_endless_or_huge_body_stops_at_the_cap_with_bounded_memory(srv: HostileHTTP, path: str) -> None:
    err, peak = peak_of(lambda: read_feed(srv.url(path), policy(srv)))
    assert isinstance(err, PermanentError)
    assert assert_clean(err) == "feed larger than 20 MiB"
    assert peak < BOUND, f"peak {peak / 2**20:.1f} MiB"


def test_a_declared_huge_length_is_refused_before_reading(srv: HostileHTTP) -> None:
    err, peak = peak_of(lambda: read_feed(srv.url("/huge-declared"), policy(srv)))
    assert isinstance(err, PermanentError) and str(err) == "feed larger than 20 MiB"
    assert peak < 2 * 1024 * 1024


def test_a_gzip_bomb_stops_at_the_decoded_cap_with_bounded_memory(srv: HostileHTTP) -> None:
    from tests.fakes.hostile_http import gzip_bomb

    assert len(gzip_bomb()) < MAX_BYTES  # small on the wire: only the decoded cap can catch it
    err, peak = peak_of(lambda: read_feed(srv.url("/gzip-bomb"), policy(srv)))
    assert isinstance(err, PermanentError) and assert_clean(err) == "feed larger than 20 MiB"
    assert peak < BOUND, f"peak {peak / 2**20:.1f} MiB"


def test_a_trickle_is_cut_by_the_one_deadline_for_the_whole_fetch(srv: HostileHTTP) -> None:
    # one byte every 0.2 s: no single read ever times out, only the whole-fetch deadline can stop it
    err, _ = peak_of(lambda: read_feed(srv.url("/trickle"), policy(srv, deadline=1.5)))
    assert isinstance(err, TransientError)
    assert "deadline" in assert_clean(err)


def test_a_stalled_body_times_out(srv: HostileHTTP) -> None:
    err, _ = peak_of(lambda: read_feed(srv.url("/stall"), policy(srv, deadline=1.0)))
    assert isinstance(err, TransientError)
    assert_clean(err)


def test_five_redirects_are_followed_six_are_refused(srv: HostileHTTP) -> None:
    assert read_feed(srv.url("/chain/5"), policy(srv)) == OK_ICS
    err, _ = peak_of(lambda: read_feed(srv.url("/chain/6"), policy(srv)))
    assert isinstance(err, PermanentError) and "more than 5" in assert_clean(err)


def test_a_redirect_loop_is_refused(srv: HostileHTTP) -> None:
    before = len(srv.requests)
    err, _ = peak_of(lambda: read_feed(srv.url("/loop"), policy(srv)))
    assert isinstance(err, PermanentError) and "redirected more than" in assert_clean(err)
    assert len(srv.requests) - before == 6


@pytest.mark.parametrize(
    "inward",
    [
        "http://127.0.0.1:{port}/ok",  # another local port
        "http://localhost:{port}/ok",
        "http://2130706433:{port}/ok",  # decimal 127.0.0.1
        "http://0x7f.1:{port}/ok",  # hex + short form
        "http://017700000001:{port}/ok",  # octal
        "http://0.0.0.0:{port}/ok",
        "http://[::1]:{port}/ok",
        "http://[::ffff:127.0.0.1]:{port}/ok",  # IPv4-mapped IPv6
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
    ],
)
def test_redirects_inward_are_refused_without_connecting(srv: HostileHTTP, other: HostileHTTP, inward: str) -> None:
    target = inward.format(port=other.port)
    before = len(other.requests)
    err, _ = peak_of(lambda: read_feed(srv.url(f"/redirect?to={target}"), policy(srv)))
    assert isinstance(err, PermanentError) and "address not allowed" in assert_clean(err)
    assert len(other.requests) == before  # the inside server never saw a request


def test_a_redirect_to_a_file_or_another_scheme_is_refused(srv: HostileHTTP) -> None:
    for target in ("file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://example.org/x.ics"):
        err, _ = peak_of(lambda t=target: read_feed(srv.url(f"/redirect?to={t}"), policy(srv)))
        assert isinstance(err, PermanentError) and "http or https" in assert_clean(err)


@pytest.mark.parametrize(
    "status,kind",
    [(404, PermanentError), (403, PermanentError), (500, TransientError), (503, TransientError), (429, TransientError)],
)
def test_error_statuses_are_classified_and_never_quote_the_body(srv: HostileHTTP, status: int, kind: type) -> None:
    err, _ = peak_of(lambda: read_feed(srv.url(f"/status/{status}"), policy(srv)))
    assert isinstance(err, kind)
    assert assert_clean(err) == f"feed answered HTTP {status}"


def test_a_private_server_not_listed_is_never_connected_to(other: HostileHTTP) -> None:
    before = len(other.requests)
    with pytest.raises(PermanentError, match="address not allowed"):
        read_feed(other.url("/ok"), FeedPolicy())
    assert len(other.requests) == before


def test_dns_rebinding_gains_nothing(srv: HostileHTTP) -> None:
    """A name that answers a public address when checked and a private one afterwards."""
    answers = [[ipaddress.ip_address("192.0.2.10")], [ipaddress.ip_address("127.0.0.1")]]
    asked: list[str] = []

    def rebinding(host: str, port: int, timeout: float) -> list[netguard.IPAddress]:
        asked.append(host)
        return answers[min(len(asked) - 1, 1)]  # type: ignore[return-value]

    # 192.0.2.10 (TEST-NET) is documentation space: not global, refused even on the first answer
    with pytest.raises(PermanentError, match="address not allowed"):
        read_feed(f"http://rebind.test:{srv.port}/ok", FeedPolicy(resolver=rebinding))

    public = [[ipaddress.ip_address("8.8.8.8")], [ipaddress.ip_address("127.0.0.1")]]
    asked.clear()
    answers[:] = public
    before = len(srv.requests)
    with pytest.raises((TransientError, PermanentError)) as info:
        read_feed(f"http://rebind.test:{srv.port}/ok", FeedPolicy(resolver=rebinding, deadline=1.0))
    assert asked == ["rebind.test"]  # resolved once; the connection went to the checked address
    assert len(srv.requests) == before  # never reached the private address the second answer names
    assert SECRET not in str(info.value)


def test_a_name_with_one_private_address_among_public_ones_is_refused() -> None:
    def mixed(host: str, port: int, timeout: float) -> list[netguard.IPAddress]:
        return [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("10.1.2.3")]

    with pytest.raises(PermanentError, match="address not allowed"):
        read_feed("https://mixed.test/cal.ics", FeedPolicy(resolver=mixed))


def test_userinfo_credentials_go_to_the_first_origin_only(srv: HostileHTTP, other: HostileHTTP) -> None:
    allow = netguard.parse_allow_list(f"{srv.allow},{other.allow}")
    read_feed(f"http://u:s3cret@127.0.0.1:{srv.port}/redirect?to={other.url('/ok')}", FeedPolicy(allow_private=allow))
    first, second = srv.requests[-1][1], other.requests[-1][1]
    assert first.get("Authorization", "").startswith("Basic ")
    assert "Authorization" not in second
