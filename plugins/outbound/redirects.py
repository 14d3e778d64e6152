"""Redirect rules: what the next hop may be and what it carries.

The fetch loop follows redirects itself, one hop at a time, re-vetting every target URL and
re-checking its addresses when connecting. This module decides how the request changes:
method and body per RFC 9110 §15.4, and credentials dropped when the origin changes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from plugins.outbound import errors
from plugins.outbound.errors import FetchError

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Methods that may be sent twice (a retry) without doing twice what the caller asked.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# Always treated as credentials, whatever the caller flags.
ALWAYS_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})

_BODY_HEADERS = frozenset({"content-type", "content-encoding", "content-language"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

RedirectPolicy = Callable[[str, str], bool]


@dataclass(frozen=True)
class Hop:
    """One request of the redirect chain."""

    method: str
    url: httpx.URL
    headers: Mapping[str, str]  # lower-cased names
    body: bytes | None


def next_hop(*, previous: Hop, status: int, target: httpx.URL, sensitive: frozenset[str]) -> Hop:
    """The request that follows `previous` after a `status` redirect to `target` (vetted).

    303 turns anything but HEAD into a body-less GET; 302 does too, and 301 turns POST into
    GET (what browsers and HTTP libraries do; RFC 9110 allows it). 307 and 308 keep method and
    body, but a body is never re-sent to another origin: it may hold secrets (an OAuth client
    secret, SECURITY.md pitfall 5), so that redirect is refused. Headers named in `sensitive`
    (plus Authorization, Proxy-Authorization and Cookie) are dropped when the origin changes and
    stay dropped for the rest of the chain.
    """
    method, body, headers = previous.method, previous.body, dict(previous.headers)
    if (
        (status == 303 and method != "HEAD")
        or (status == 302 and method != "HEAD")
        or (status == 301 and method == "POST")
    ):
        method, body = "GET", None
        headers = {name: value for name, value in headers.items() if name not in _BODY_HEADERS}
    if not same_origin(previous.url, target):
        if body is not None:
            raise FetchError(
                errors.REDIRECT_NOT_ALLOWED,
                "The server redirected the request body to another site.",
            )
        dropped = ALWAYS_SENSITIVE_HEADERS | sensitive
        headers = {name: value for name, value in headers.items() if name not in dropped}
    return Hop(method=method, url=target, headers=headers, body=body)


def same_origin(first: httpx.URL, second: httpx.URL) -> bool:
    """Same scheme, host and (effective) port."""
    return _origin(first) == _origin(second)


def same_site_redirects_only(original_host: str) -> RedirectPolicy:
    """A redirect policy allowing only the same host, its subdomains, or ``www.`` → apex.

    For ``example.com``: ``example.com``, ``www.example.com``, ``api.example.com`` pass.
    For ``www.example.com`` the apex ``example.com`` passes too. Any other host, including a
    sibling such as ``other.example.com`` seen from ``www.example.com``, is refused. An IP
    address host only matches itself.
    """
    original = _normalise_host(original_host)
    apex = original.removeprefix("www.") if original.startswith("www.") else None
    if apex is not None and _is_ip(apex):
        apex = None

    def policy(from_url: str, to_url: str) -> bool:
        try:
            host = _normalise_host(httpx.URL(to_url).host)
        except (httpx.InvalidURL, ValueError):
            return False
        if not host:
            return False
        if host in (original, apex):
            return True
        return not _is_ip(original) and not _is_ip(host) and host.endswith("." + original)

    policy.__name__ = "same_site_redirects_only"
    return policy


def _origin(url: httpx.URL) -> tuple[str, bytes, int | None]:
    return (url.scheme, url.raw_host, url.port or _DEFAULT_PORTS.get(url.scheme))


def _normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        try:
            return httpx.URL(f"http://{host}/").raw_host.decode("ascii")
        except (httpx.InvalidURL, ValueError):
            return host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
