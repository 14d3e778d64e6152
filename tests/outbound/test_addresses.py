import ipaddress

import pytest

from plugins.outbound import is_blocked_address


def teredo(server: str, client: str) -> str:
    """A Teredo address (2001::/32) for a server and an (obfuscated) client IPv4 address."""
    server_bits = int(ipaddress.IPv4Address(server))
    client_bits = int(ipaddress.IPv4Address(client)) ^ 0xFFFFFFFF
    value = (0x20010000 << 96) | (server_bits << 64) | (0x8000 << 48) | (0x63BF << 32)
    return str(ipaddress.IPv6Address(value | client_bits))


BLOCKED = [
    # IPv4 private, loopback, link-local / metadata, CGNAT
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254",
    "169.254.0.1",
    "100.64.0.1",
    "100.127.255.255",
    # unspecified / "this network", multicast, reserved, broadcast
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    # benchmarking, documentation, IETF protocol assignments, 6to4 relay
    "198.18.0.1",
    "198.19.255.255",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "192.0.0.8",
    "192.88.99.1",
    # IPv6 loopback, unspecified, link-local (with a zone), ULA, site-local, multicast, docs
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd12:3456:789a::1",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "3fff::1",
    "100::1",
    # IPv4-mapped and IPv4-compatible forms of denied IPv4 addresses
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "::10.0.0.1",
    # NAT64 (well-known prefix with a denied IPv4; the local-use prefix entirely)
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::808:808",
    # 6to4 wrapping a denied IPv4
    "2002:7f00:1::",
    "2002:a00:1::1",
    "2002:c0a8:101::1",
    # Teredo whose client or server is a denied IPv4
    teredo("65.54.227.120", "10.0.0.1"),
    teredo("10.0.0.1", "8.8.8.8"),
    teredo("65.54.227.120", "127.0.0.1"),
    # Other IETF protocol assignments and anything that is not an address: fail closed
    "2001:2::1",
    "not-an-ip",
    "",
    "127.1",
    "2130706433",
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.167.255.255",
    "192.169.0.0",
    "198.17.255.255",
    "198.20.0.0",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    teredo("65.54.227.120", "8.8.8.8"),
]


@pytest.mark.parametrize("address", BLOCKED)
def test_it_blocks_denied_addresses(address):
    assert is_blocked_address(address) is True


@pytest.mark.parametrize("address", ALLOWED)
def test_it_allows_public_addresses(address):
    assert is_blocked_address(address) is False


def test_it_accepts_address_objects():
    assert is_blocked_address(ipaddress.ip_address("10.0.0.1")) is True
    assert is_blocked_address(ipaddress.ip_address("8.8.4.4")) is False
