"""The private-destination exception: private destinations that dev and test setups may reach.

`settings.MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS` is a list of ``host:port`` or ``host:low-
high`` strings, e.g. ``127.0.0.1:8100-8199``, ``localhost:8100-8199``, ``[::1]:8100``. A
destination matches an entry when its port is in the entry's range and either the host as
written in the URL or the resolved IP address equals the entry's host. It is empty in
production.

The setting is read at call time (tests override it) and each distinct value is parsed once;
a malformed entry raises ImproperlyConfigured rather than being skipped.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*$")
_PORTS = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


@dataclass(frozen=True)
class PrivateDestination:
    host: str  # lower-cased hostname, or a compressed IP address
    first_port: int
    last_port: int

    def matches(self, *, written_host: str, ip: str, port: int) -> bool:
        if not self.first_port <= port <= self.last_port:
            return False
        return self.host in (_canonical_host(written_host), _canonical_host(ip))


def permits(
    entries: Iterable[PrivateDestination], *, written_host: str, ip: str, port: int
) -> bool:
    """True if an entry lets the client reach `ip`:`port` for a URL naming `written_host`."""
    return any(entry.matches(written_host=written_host, ip=ip, port=port) for entry in entries)


def allowed_private_destinations() -> tuple[PrivateDestination, ...]:
    """The parsed private-destination list from settings, read now (so test overrides apply)."""
    raw = getattr(settings, "MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS", ())
    if isinstance(raw, str) or not isinstance(raw, Iterable):
        raise ImproperlyConfigured(
            "MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS must be a list of strings"
        )
    return parse_private_destinations(tuple(raw))


@functools.lru_cache(maxsize=16)
def parse_private_destinations(entries: tuple[str, ...]) -> tuple[PrivateDestination, ...]:
    """Parse private-destination entries; ImproperlyConfigured names the first malformed one."""
    return tuple(_parse_entry(entry) for entry in entries)


def _parse_entry(entry: object) -> PrivateDestination:
    if not isinstance(entry, str):
        raise ImproperlyConfigured(
            "MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS entries must be strings"
        )
    problem = (
        f"MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS entry {entry!r} is not host:port or "
        "host:low-high"
    )
    text = entry.strip().lower()
    if text.startswith("["):
        host, sep, ports = text[1:].partition("]:")
        if not sep or not _is_ip(host, version=6):
            raise ImproperlyConfigured(problem)
    else:
        host, sep, ports = text.rpartition(":")
        if not sep or not (_is_ip(host, version=4) or _HOSTNAME.match(host)):
            raise ImproperlyConfigured(problem)
    match = _PORTS.match(ports)
    if not match:
        raise ImproperlyConfigured(problem)
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if not 1 <= first <= last <= 65535:
        raise ImproperlyConfigured(problem)
    return PrivateDestination(host=_canonical_host(host), first_port=first, last_port=last)


def _is_ip(text: str, *, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _canonical_host(host: str) -> str:
    host = host.lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host
