"""The address policy for untrusted feed URLs (table-driven)."""

from __future__ import annotations

import ipaddress

import pytest

from novel_events.errors import InvalidInput
from novel_events.netguard import AddressNotAllowed, address_allowed, check_address, numeric_host, parse_allow_list

REFUSED = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.0.1",
    "100.64.0.1",
    "169.254.169.254",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::1",
    "2001:db8::1",
    "100::1",
]
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "151.101.1.69",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
]


@pytest.mark.parametrize("ip", REFUSED)
def test_inside_addresses_are_refused(ip: str) -> None:
    assert not address_allowed(ipaddress.ip_address(ip))
    with pytest.raises(AddressNotAllowed, match="address not allowed"):
        check_address(ipaddress.ip_address(ip), ip, 80, frozenset())


@pytest.mark.parametrize("ip", ALLOWED)
def test_public_addresses_are_allowed(ip: str) -> None:
    assert address_allowed(ipaddress.ip_address(ip))


@pytest.mark.parametrize(
    "host,ip",
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("10.0.0.1", "10.0.0.1"),
        ("example.org", None),
    ],
)
def test_numeric_host_forms(host: str, ip: str | None) -> None:
    got = numeric_host(host)
    assert (str(got) if got else None) == ip


def test_the_allow_list_lets_named_host_port_pairs_through_only() -> None:
    allow = parse_allow_list("feeds.intra:8443, 127.0.0.1:8080,[::1]:9000")
    assert allow == {("feeds.intra", 8443), ("127.0.0.1", 8080), ("::1", 9000)}
    check_address(ipaddress.ip_address("10.0.0.5"), "feeds.intra", 8443, allow)
    check_address(ipaddress.ip_address("127.0.0.1"), "127.0.0.1", 8080, allow)
    with pytest.raises(AddressNotAllowed):
        check_address(ipaddress.ip_address("127.0.0.1"), "127.0.0.1", 8081, allow)  # other port
    with pytest.raises(AddressNotAllowed):
        check_address(ipaddress.ip_address("10.0.0.5"), "feeds.intra", 443, allow)


@pytest.mark.parametrize("bad", ["nohost", "host:", "host:99999", ":80", "host:x"])
def test_a_bad_allow_list_names_the_setting(bad: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_allow_list(bad)
    assert info.value.field == "NOVEL_EVENTS_ICS_ALLOW_PRIVATE"
