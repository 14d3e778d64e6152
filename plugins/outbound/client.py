"""`fetch`: the project's one way to make an outbound HTTP request.

Each call vets the URL, connects only to vetted addresses (transport.py), follows redirects
hop by hop under the same checks, enforces a total deadline and a cap on received and decoded
bytes, and returns the response whatever its HTTP status. Everything else is a FetchError.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import httpx

from plugins.outbound import errors
from plugins.outbound.content_types import is_acceptable, media_type
from plugins.outbound.deadline import Deadline
from plugins.outbound.decoding import ACCEPT_ENCODING, read_body
from plugins.outbound.errors import FetchError
from plugins.outbound.private_destinations import allowed_private_destinations
from plugins.outbound.redirects import REDIRECT_STATUSES, Hop, next_hop
from plugins.outbound.transport import VettedTransport
from plugins.outbound.urls import vet_url

logger = logging.getLogger(__name__)

# Callers pass the limit of what they fetch (documents: plugins.validation.parsing; logos:
# plugins.ingest.links); this default only bounds a caller that forgot.
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DOCUMENT_TIMEOUT = 15.0

USER_AGENT = "PluginMarketplace/1.0 (+validator)"

ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Set by the client from the URL and body; a caller-supplied Host in particular would let a
# request reach another virtual host than the vetted URL names (SECURITY.md pitfall 8).
FORBIDDEN_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "upgrade",
        "te",
        "trailer",
        "accept-encoding",
    }
)

_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


@dataclass(frozen=True)
class FetchResult:
    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    headers: Mapping[str, str] = field(repr=False)  # lower-cased names; may hold secrets
    content: bytes = field(repr=False)
    content_type: str  # media type only, lower-cased, no parameters; "" if absent
    redirects: tuple[str, ...]  # each URL redirected to, in order (final_url is the last)
    elapsed: float  # seconds, for the whole chain


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    sensitive_headers: frozenset[str] = frozenset(),
    body: bytes | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DOCUMENT_TIMEOUT,
    connect_timeout: float = 5.0,
    follow_redirects: bool = True,
    max_redirects: int = 3,
    redirect_policy: Callable[[str, str], bool] | None = None,
    accept_content_types: Collection[str] | None = None,
) -> FetchResult:
    """Request `url` and return the response, whatever its HTTP status.

    - `url` must be http(s) (https when settings.MARKETPLACE_REQUIRE_HTTPS), with no userinfo,
      backslash, whitespace or control characters. Every address its host resolves to must be
      public, or covered by settings.MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS (read at call time).
    - `headers` are sent as given except Host, Content-Length, Accept-Encoding and hop-by-hop
      headers, which callers may not set (ValueError). Names in `sensitive_headers`, plus
      Authorization, Proxy-Authorization and Cookie, are dropped on a redirect to another origin.
    - `timeout` is a total deadline in seconds for the whole call, redirects and body included;
      `connect_timeout` bounds name lookup plus TCP connect (and TLS handshake) per connection.
    - The body may be at most `max_bytes`, both as received and after decompression;
      a larger Content-Length is refused before reading.
    - Redirects (at most `max_redirects`) are followed unless `follow_redirects` is False, in
      which case the 3xx response is returned. Each target is vetted like `url`, then must be
      approved by `redirect_policy(from_url, to_url)` if one is given.
    - `accept_content_types` (patterns such as ``application/json``, ``text/*``,
      ``application/*+json``) is checked on 2xx responses before the body is read; a missing
      Content-Type counts as application/octet-stream.

    Raises FetchError (see errors.py for codes), ValueError for invalid arguments, and
    ImproperlyConfigured for a malformed private-destination list.
    """
    method, request_headers, sensitive = checked_request(
        method=method,
        headers=headers,
        sensitive_headers=sensitive_headers,
        body=body,
        max_bytes=max_bytes,
        timeout=timeout,
        connect_timeout=connect_timeout,
        max_redirects=max_redirects,
    )
    private_destinations = allowed_private_destinations()

    started = time.monotonic()
    deadline = Deadline(timeout)
    hop = Hop(method=method, url=vet_url(url), headers=request_headers, body=body)
    redirects: list[str] = []
    transport = VettedTransport(deadline=deadline, private_destinations=private_destinations)
    try:
        while True:
            response = _send(transport, hop, connect_timeout=connect_timeout, timeout=timeout)
            try:
                location = response.headers.get("location")
                if (
                    not follow_redirects
                    or response.status_code not in REDIRECT_STATUSES
                    or (location is None)
                ):
                    content = _read(response, hop, max_bytes, deadline, accept_content_types)
                    break
                if len(redirects) >= max_redirects:
                    raise FetchError(errors.TOO_MANY_REDIRECTS, "The server redirected too often.")
                target = vet_url(location, base=hop.url)
                if redirect_policy is not None and not redirect_policy(str(hop.url), str(target)):
                    raise FetchError(
                        errors.REDIRECT_NOT_ALLOWED,
                        "The server redirected to a site not allowed here.",
                    )
                hop = next_hop(
                    previous=hop, status=response.status_code, target=target, sensitive=sensitive
                )
                redirects.append(str(target))
            finally:
                response.close()
    finally:
        transport.close()

    elapsed = time.monotonic() - started
    logger.debug(
        "outbound fetch host=%s status=%s bytes=%s redirects=%s elapsed=%.3f",
        hop.url.host,
        response.status_code,
        len(content),
        len(redirects),
        elapsed,
    )
    return FetchResult(
        url=url,
        final_url=str(hop.url),
        status=response.status_code,
        headers=MappingProxyType(dict(response.headers.items())),
        content=content,
        content_type=media_type(response.headers.get("content-type")),
        redirects=tuple(redirects),
        elapsed=elapsed,
    )


def _send(
    transport: VettedTransport, hop: Hop, *, connect_timeout: float, timeout: float
) -> httpx.Response:
    request = httpx.Request(
        hop.method,
        hop.url,
        headers=list(hop.headers.items()),
        content=hop.body,
        extensions={
            "timeout": {
                "connect": connect_timeout,
                "read": timeout,
                "write": timeout,
                "pool": timeout,
            },
        },
    )
    return transport.handle_request(request)


def _read(
    response: httpx.Response,
    hop: Hop,
    max_bytes: int,
    deadline: Deadline,
    accept_content_types: Collection[str] | None,
) -> bytes:
    """The decoded body of the response that ends the chain, after the pre-read checks."""
    arrived = media_type(response.headers.get("content-type"))
    if (
        accept_content_types is not None
        and 200 <= response.status_code < 300
        and not is_acceptable(arrived, accept_content_types)
    ):
        raise FetchError(
            errors.UNEXPECTED_CONTENT_TYPE,
            f"The server sent {arrived[:100] or 'content without a Content-Type'}, "
            "a different kind of content than expected.",
        )
    if hop.method == "HEAD":
        return b""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(errors.TOO_LARGE, "The response is larger than allowed.")
    return read_body(
        response.iter_raw(),
        content_encoding=response.headers.get("content-encoding", ""),
        max_bytes=max_bytes,
        deadline=deadline,
    )


# Control characters other than tab (a compiled scan: the proxy sends a ~600-character signed
# assertion on every call, and a per-character generator cost 0.25 ms of it).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def checked_request(
    *,
    method: str,
    headers: Mapping[str, str] | None,
    sensitive_headers: frozenset[str],
    body: bytes | None,
    max_bytes: int,
    timeout: float,
    connect_timeout: float,
    max_redirects: int,
) -> tuple[str, dict[str, str], frozenset[str]]:
    """The arguments both faces of the client (`fetch`, `aio.async_fetch`) check the same way:
    (method, request headers, lower-cased sensitive header names); ValueError when invalid."""
    if body is not None and not isinstance(body, bytes):
        raise ValueError("body must be bytes or None")
    request_headers = _request_headers(headers)
    _check_limits(
        max_bytes=max_bytes,
        timeout=timeout,
        connect_timeout=connect_timeout,
        max_redirects=max_redirects,
    )
    return (
        _checked_method(method),
        request_headers,
        frozenset(name.lower() for name in sensitive_headers),
    )


def _request_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    result = {"user-agent": USER_AGENT, "accept": "*/*", "accept-encoding": ACCEPT_ENCODING}
    for name, value in (headers or {}).items():
        lowered = name.lower()
        if not name or not set(name) <= _TOKEN_CHARS:
            raise ValueError("header names must be HTTP tokens")
        if lowered in FORBIDDEN_HEADERS:
            raise ValueError(f"the {name} header is set by the outbound client, not by callers")
        if (
            not isinstance(value, str)
            or _CONTROL_CHARS.search(value) is not None
            or not _is_latin1(value)
        ):
            # The value is deliberately left out of the message: it may be a secret.
            raise ValueError(f"the value of the {name} header is not a valid header value")
        result[lowered] = value
    return result


def _is_latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _checked_method(method: str) -> str:
    upper = method.upper()
    if upper not in ALLOWED_METHODS:
        raise ValueError(f"method must be one of {', '.join(sorted(ALLOWED_METHODS))}")
    return upper


def _check_limits(
    *, max_bytes: int, timeout: float, connect_timeout: float, max_redirects: int
) -> None:
    if max_bytes < 0:
        raise ValueError("max_bytes must not be negative")
    if not timeout > 0 or not connect_timeout > 0:
        raise ValueError("timeout and connect_timeout must be positive")
    if max_redirects < 0:
        raise ValueError("max_redirects must not be negative")
