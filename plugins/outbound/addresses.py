"""The deny list: which IP addresses the outbound client must never connect to.

`ipaddress` flags alone are not an SSRF filter (SECURITY.md pitfall 6): CGNAT is not
`is_private`, and `is_global` is true for NAT64 and 6to4 addresses that embed a loopback IPv4.
So the deny list is explicit (IANA special-purpose registries), IPv6 forms that carry an IPv4
address are unwrapped and the embedded address is checked, and the `ipaddress` flags are kept as
a second net for anything the list misses.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DENIED_V4 = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network", includes the unspecified address
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # carrier-grade NAT (shared address space)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, includes cloud metadata 169.254.169.254
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes broadcast 255.255.255.255
    )
)

_DENIED_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "::/96",  # unspecified, loopback and deprecated IPv4-compatible (::a.b.c.d) addresses
        "64:ff9b:1::/48",  # local-use IPv4/IPv6 translation: private by definition
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (Teredo inside it is unwrapped first)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # SRv6 segment identifiers
        "fc00::/7",  # unique local addresses
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_TEREDO = ipaddress.IPv6Network("2001::/32")


def is_blocked_address(ip: str | IPAddress) -> bool:
    """True if the outbound client must not connect to `ip`.

    Accepts a string (an IPv6 scope such as ``fe80::1%eth0`` is allowed) or an address object.
    Anything that does not parse as an IP address is blocked: this fails closed.
    """
    if isinstance(ip, str):
        try:
            ip = ipaddress.ip_address(ip)
        except ValueError:
            return True
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded:
            return any(is_blocked_address(inner) for inner in embedded)
        denied = _DENIED_V6
    else:
        denied = _DENIED_V4
    if any(ip in net for net in denied):
        return True
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    )


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address stands for, when it is a translation/tunnel form."""
    if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d
        return (ip.ipv4_mapped,)
    if ip.sixtofour is not None:  # 2002:aabb:ccdd::/48
        return (ip.sixtofour,)
    if ip in _TEREDO and ip.teredo is not None:  # server and (de-obfuscated) client
        return ip.teredo
    if ip in _NAT64:  # 64:ff9b::a.b.c.d
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    return ()
