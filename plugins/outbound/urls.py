"""URL vetting: turn an untrusted string into the one `httpx.URL` the client will request.

The URL is parsed once, by httpx (the parser of the client that sends the request), and the
parsed object is what gets requested, so no second parser can disagree about the host
(SECURITY.md pitfall 7). The raw string is also refused outright when it contains anything a
parser might read differently: backslashes, whitespace, control characters, userinfo.

Resolved addresses are checked at connect time (see transport.py); `precheck_url` adds an
early check of IP-literal hosts for callers that want feedback before fetching. Hosts that
only a lenient resolver would read as an IPv4 address (``2130706433``, ``0x7f.1``, ``127.1``,
``0``) are refused here already, as a second net.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

import httpx
from django.conf import settings

from plugins.outbound.addresses import is_blocked_address
from plugins.outbound.errors import (
    ADDRESS_BLOCKED,
    ADDRESS_BLOCKED_MESSAGE,
    HTTPS_REQUIRED,
    INVALID_URL,
    SCHEME_NOT_ALLOWED,
    FetchError,
)
from plugins.outbound.private_destinations import allowed_private_destinations, permits

MAX_URL_LENGTH = 4096
ALLOWED_SCHEMES = frozenset({"http", "https"})

_HOSTNAME = re.compile(r"^(?=.{1,253}\.?$)[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*\.?$")
_AUTHORITY = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//([^/?#]*)")
_NUMERIC_LABEL = re.compile(r"^(\d+|0x[0-9a-f]*)$")


def vet_url(url: str | httpx.URL, *, base: httpx.URL | None = None) -> httpx.URL:
    """Return the parsed URL if the client may request it, else raise FetchError.

    With `base` (the URL of the response carrying a Location header), `url` may be relative
    and is resolved against it; the raw string is checked before resolution.

    Checks: a string of sane length with no backslash, whitespace or control character;
    parses with httpx; scheme http or https (https only when MARKETPLACE_REQUIRE_HTTPS);
    no userinfo (not even an empty ``@``); a host that is a plain DNS name or an IP literal
    (no zone id, no percent-encoding, not a non-standard numeric IPv4 form); a port in 1-65535.
    The fragment is dropped.
    """
    text = str(url)
    require_https = bool(getattr(settings, "MARKETPLACE_REQUIRE_HTTPS", True))
    if base is None and "?" not in text:
        # The proxy requests the same few URLs over and over: vetted once each (httpx.URL is
        # immutable). Never with a query string, which may carry a credential.
        return _vet_cached(text, require_https)
    return _vet(text, base, require_https)


@functools.lru_cache(maxsize=1024)
def _vet_cached(text: str, require_https: bool) -> httpx.URL:
    return _vet(text, None, require_https)


def _vet(text: str, base: httpx.URL | None, require_https: bool) -> httpx.URL:
    _vet_characters(text)
    try:
        parsed = base.join(text) if base is not None else httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise _invalid("The URL could not be parsed.") from None

    if parsed.scheme not in ALLOWED_SCHEMES:
        raise FetchError(SCHEME_NOT_ALLOWED, "Only http and https URLs can be fetched.")
    if parsed.scheme != "https" and require_https:
        raise FetchError(HTTPS_REQUIRED, "The URL must use https.")
    if parsed.userinfo or "@" in _raw_authority(text):
        raise _invalid("URLs with a user name or password are not allowed.")
    _vet_host(parsed.raw_host.decode("ascii"))
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise _invalid("The URL has an invalid port.")
    return parsed.copy_with(fragment=None)


@dataclass(frozen=True)
class CheckedURL:
    """A URL as the client will request it, with the parts callers need, parsed by its parser.

    Callers outside ``plugins/outbound`` use this instead of parsing URLs with an HTTP library of
    their own, so there is one parser for what is stored and what is fetched.
    """

    url: str
    scheme: str
    host: str  # as httpx reads it: lower-case, IDNA-decoded, IPv6 without brackets
    port: int | None
    path: str

    def with_path(self, path: str) -> str:
        """The same origin with ``path`` and no query."""
        return str(httpx.URL(self.url).copy_with(path=path, query=None))


def precheck(url: str) -> CheckedURL:
    """Vet `url` without touching the network, for early feedback (e.g. when it is submitted).

    The checks of `vet_url`, plus: an IP-literal host is checked against the deny list and the
    allow-list right away. Host names are resolved and checked only when fetched, so passing
    this check does not mean `fetch` will be allowed to connect.
    """
    parsed = vet_url(url)
    host = parsed.raw_host.decode("ascii")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        if is_blocked_address(host) and not permits(
            allowed_private_destinations(), written_host=host, ip=host, port=port
        ):
            raise FetchError(ADDRESS_BLOCKED, ADDRESS_BLOCKED_MESSAGE)
    return CheckedURL(
        url=str(parsed), scheme=parsed.scheme, host=parsed.host, port=parsed.port, path=parsed.path
    )


def precheck_url(url: str) -> str:
    """`precheck`, returning the normalised URL as a string."""
    return precheck(url).url


def _vet_characters(text: str) -> None:
    if not text:
        raise _invalid("The URL is empty.")
    if len(text) > MAX_URL_LENGTH:
        raise _invalid("The URL is too long.")
    if "\\" in text:
        raise _invalid("The URL contains a backslash.")
    if any(char.isspace() or ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in text):
        raise _invalid("The URL contains whitespace or control characters.")


def _raw_authority(text: str) -> str:
    """The authority part of the raw string, used only to refuse a stray ``@`` in it."""
    match = _AUTHORITY.match(text)
    return match.group(1) if match else ""


def _vet_host(host: str) -> None:
    """`host` is httpx's raw host: lower-cased, IDNA-encoded, IPv6 without brackets."""
    if not host:
        raise _invalid("The URL has no host.")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if getattr(address, "scope_id", None):
            raise _invalid("IPv6 zone identifiers are not allowed in URLs.")
        return
    if not _HOSTNAME.match(host):
        raise _invalid("The URL's host is not a valid host name.")
    labels = host.rstrip(".").split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        # WHATWG URL parsing treats such hosts as IPv4 addresses and resolvers accept
        # octal/hex/short forms; no public DNS name ends in a numeric label.
        raise _invalid("Write IP addresses in the standard dotted form, e.g. 192.0.2.1.")


def _invalid(message: str) -> FetchError:
    return FetchError(INVALID_URL, message)
