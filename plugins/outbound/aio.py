"""The outbound client's long-lived async face: the same vetting as `fetch`, over a pool.

    from plugins.outbound import async_fetch
    result = await async_fetch(url, method="POST", headers=..., body=..., timeout=45)

For the proxy's hot path: one aiohttp session per event loop keeps connections to plugins alive
(measured against httpx's async pool under `make bench`; aiohttp was chosen, see the README).
Same rules as `client.fetch`, from the same modules:

- URLs vetted by `urls.vet_url` (http(s), no userinfo/backslashes, https when required);
- every address a host name resolves to is vetted (`addresses.is_blocked_address`, with the
  allow-list read at call time) by `_VettedResolver`, which resolves through the same
  `transport.resolve` seam; IP-literal hosts (which aiohttp never resolves) are vetted before
  the request. aiohttp then connects to exactly those addresses; a pooled connection is only
  ever one that was vetted when it was opened;
- caller headers checked by `client._request_headers` (no Host, hop-by-hop, Accept-Encoding);
- redirects followed hop by hop by `redirects.next_hop` (credentials dropped across origins,
  bodies never re-sent to another origin), each target vetted and offered to `redirect_policy`;
- a total deadline over the whole chain, body included; a cap on received and decoded bytes
  while streaming (decompression here, not by aiohttp, so a gzip bomb stops at the cap);
- one retry rule for the pool (`_send_hop`): a request sent on a kept-alive connection taken
  from the pool that dies before any response arrives (the server had closed it while it sat
  idle: nothing was processed) is sent once more on a fresh connection, whatever the method;
  a fresh connection that dies is never retried here. `FetchError.retried` says a retry was
  made, so callers with their own retry rule count it (plugins.proxy.pipeline.retryable).

Errors are FetchError with the same codes; aiohttp exceptions never escape.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import ipaddress
import logging
import time
import weakref
from collections.abc import Callable
from types import MappingProxyType

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver
from aiohttp.http_parser import RawResponseMessage as RawMessage

from plugins.outbound import errors, transport
from plugins.outbound.addresses import is_blocked_address
from plugins.outbound.client import (
    DEFAULT_MAX_BYTES,
    FetchResult,
    checked_request,
)
from plugins.outbound.content_types import media_type
from plugins.outbound.decoding import _decoder_for, _too_large
from plugins.outbound.errors import FetchError
from plugins.outbound.private_destinations import allowed_private_destinations, permits
from plugins.outbound.redirects import REDIRECT_STATUSES, Hop, next_hop
from plugins.outbound.urls import vet_url

logger = logging.getLogger(__name__)

POOL_LIMIT = 200
POOL_LIMIT_PER_HOST = 64
KEEPALIVE_SECONDS = 30
CHUNK = 64 * 1024


def _vet(host: str, ip: str, port: int) -> None:
    if _blocked(host, ip, port, allowed_private_destinations()):
        logger.warning("outbound blocked host=%s ip=%s port=%s", host, ip, port)
        raise FetchError(errors.ADDRESS_BLOCKED, errors.ADDRESS_BLOCKED_MESSAGE)


@functools.lru_cache(maxsize=1024)
def _blocked(host: str, ip: str, port: int, allowed: tuple) -> bool:
    # A pure function of its arguments (the allow-list read at call time is one of them), so
    # the proxy's few upstream addresses are judged once each, not parsed five times a call.
    return is_blocked_address(ip) and not permits(allowed, written_host=host, ip=ip, port=port)


@functools.lru_cache(maxsize=1024)
def _literal_ip(host: str) -> str | None:
    """The IP address an IP-literal host names (aiohttp never resolves those), else None."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


class _VettedResolver(AbstractResolver):
    """Resolve once through `transport.resolve`, refuse the host if any address is denied."""

    async def resolve(self, host, port=0, family=0):
        try:
            addresses = await asyncio.to_thread(transport.resolve, host, port)
        except OSError:
            raise FetchError(errors.DNS_FAILED, "The host name could not be resolved.") from None
        if not addresses:
            raise FetchError(errors.DNS_FAILED, "The host name could not be resolved.")
        results = []
        for ip in addresses:
            _vet(host, ip, port)
            version = ipaddress.ip_address(ip).version
            results.append(
                {
                    "hostname": host,
                    "host": ip,
                    "port": port,
                    "family": 10 if version == 6 else 2,  # AF_INET6 / AF_INET
                    "proto": 0,
                    "flags": 0,
                }
            )
        return results

    async def close(self) -> None:
        return None


class _PoolConnector(aiohttp.TCPConnector):
    """Notes, for `_send_hop`, whether the connection a request got had served one before."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._served: weakref.WeakSet = weakref.WeakSet()

    async def connect(self, req, traces, timeout):
        connection = await super().connect(req, traces, timeout)
        attempt = _attempt.get()
        if attempt is not None:
            attempt.reused = connection.protocol in self._served
        self._served.add(connection.protocol)
        return connection


class _Attempt:
    """One request's connection: taken from the pool (`reused`), answered (`answered`)."""

    __slots__ = ("answered", "reused")

    def __init__(self) -> None:
        self.reused = False
        self.answered = False


_attempt: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar(
    "outbound_attempt", default=None
)


class AsyncClient:
    """Per event loop (aiohttp sessions are bound to their loop): the pooled session, and a
    session whose connections serve one request each (`_send_hop`'s retry)."""

    def __init__(self) -> None:
        self._sessions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def session(self, *, fresh: bool = False) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        sessions = self._sessions.get(loop)
        if sessions is None or sessions[0].closed:
            sessions = self._sessions[loop] = (_new_session(fresh=False), _new_session(fresh=True))
        return sessions[1 if fresh else 0]

    async def close_current(self) -> None:
        """Close the running loop's sessions (for loops that live for one request)."""
        sessions = self._sessions.pop(asyncio.get_running_loop(), None)
        for session in sessions or ():
            await session.close()


def _new_session(*, fresh: bool) -> aiohttp.ClientSession:
    connector = (aiohttp.TCPConnector if fresh else _PoolConnector)(
        limit=POOL_LIMIT,
        limit_per_host=POOL_LIMIT_PER_HOST,
        resolver=_VettedResolver(),
        use_dns_cache=False,
        ssl=transport.default_ssl_context(),
        **({"force_close": True} if fresh else {"keepalive_timeout": KEEPALIVE_SECONDS}),
    )
    session = aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
    )
    # aiohttp silently re-sends an idempotent request once when any connection fails, fresh
    # or pooled, uncounted; `_send_hop` has the one rule instead (a pooled connection that
    # dies before answering, any method, counted), so turn aiohttp's off (no public switch;
    # tests/proxy/test_upstream_faults.py counts the requests the plugin receives).
    session._retry_connection = False
    return session


_client = AsyncClient()


async def close_loop_session() -> None:
    await _client.close_current()


async def async_fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    sensitive_headers: frozenset[str] = frozenset(),
    body: bytes | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = 15.0,
    connect_timeout: float = 5.0,
    max_redirects: int = 3,
    redirect_policy: Callable[[str, str], bool] | None = None,
) -> FetchResult:
    """`client.fetch`'s contract (minus content-type checks), awaited, over the shared pool."""
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
    started = time.monotonic()
    hop = Hop(method=method, url=vet_url(url), headers=request_headers, body=body)
    redirects: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            while True:
                status, response_headers, content, location = await _send_hop(
                    hop,
                    max_bytes=max_bytes,
                    connect_timeout=connect_timeout,
                )
                if status not in REDIRECT_STATUSES or location is None:
                    break
                if len(redirects) >= max_redirects:
                    raise FetchError(errors.TOO_MANY_REDIRECTS, "The server redirected too often.")
                target = vet_url(location, base=hop.url)
                if redirect_policy is not None and not redirect_policy(str(hop.url), str(target)):
                    raise FetchError(
                        errors.REDIRECT_NOT_ALLOWED,
                        "The server redirected to a site not allowed here.",
                    )
                hop = next_hop(previous=hop, status=status, target=target, sensitive=sensitive)
                redirects.append(str(target))
    except TimeoutError:
        raise FetchError(
            errors.TIMEOUT, "The server did not answer in time.", transient=True
        ) from None
    return FetchResult(
        url=url,
        final_url=str(hop.url),
        status=status,
        headers=MappingProxyType(response_headers),
        content=content,
        content_type=media_type(response_headers.get("content-type")),
        redirects=tuple(redirects),
        elapsed=time.monotonic() - started,
    )


class _ConnectionLost(FetchError):
    """The server hung up before any response arrived (`reused`: on a pooled connection)."""

    def __init__(self, *, reused: bool) -> None:
        super().__init__(
            errors.CONNECT_FAILED, "The connection to the server was lost.", transient=True
        )
        self.reused = reused


async def _send_hop(hop: Hop, **limits):
    """`_send` on the pool, and once more on a fresh connection when the pooled connection it
    went out on died before any response arrived: the server had closed it while idle, so it
    processed nothing, whatever the method. A redirect's next hop is the usual case (its empty
    body hands the connection straight back to the pool), but any call after an idle spell can
    meet it. A fresh connection that dies is the server's answer: not retried here."""
    try:
        return await _send(_client.session(), hop, **limits)
    except _ConnectionLost as lost:
        if not lost.reused:
            raise
    try:
        return await _send(_client.session(fresh=True), hop, **limits)
    except FetchError as exc:
        exc.retried = True
        raise


async def _send(
    session: aiohttp.ClientSession,
    hop: Hop,
    *,
    max_bytes: int,
    connect_timeout: float,
) -> tuple[int, dict[str, str], bytes, str | None]:
    host = hop.url.host
    port = hop.url.port or (443 if hop.url.scheme == "https" else 80)
    ip = _literal_ip(host)
    if ip is not None:  # an IP literal (a name is vetted by the resolver)
        _vet(host, ip, port)
    attempt = _Attempt()
    _attempt.set(attempt)
    try:
        async with session.request(
            hop.method,
            yarl.URL(str(hop.url), encoded=True),
            headers=dict(hop.headers),
            data=hop.body,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout),
        ) as response:
            attempt.answered = True
            headers = {name.lower(): value for name, value in response.headers.items()}
            location = headers.get("location") if response.status in REDIRECT_STATUSES else None
            if hop.method == "HEAD" or location is not None:
                return response.status, headers, b"", location
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_large()
            decoder = _decoder_for(headers.get("content-encoding", ""))
            received = 0
            content = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK):
                received += len(chunk)
                if received > max_bytes:
                    raise _too_large()
                content += decoder.decode(chunk, limit=max_bytes - len(content))
            decoder.finish()
            return response.status, headers, bytes(content), None
    except FetchError:
        raise
    except aiohttp.ClientConnectorError:
        raise FetchError(
            errors.CONNECT_FAILED, "Could not connect to the server.", transient=True
        ) from None
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, ConnectionError) as exc:
        # a response begun (its head read, or a partial one aiohttp hands over) means the
        # server was answering: only a pooled connection that died before that is retried
        began = attempt.answered or isinstance(getattr(exc, "message", None), RawMessage)
        raise _ConnectionLost(reused=attempt.reused and not began) from None
    except aiohttp.InvalidURL:
        raise FetchError(errors.INVALID_URL, "The URL is not valid.") from None
    except (aiohttp.ClientPayloadError, aiohttp.ClientResponseError):
        raise FetchError(
            errors.PROTOCOL_ERROR, "The server sent an invalid HTTP response.", transient=True
        ) from None
    except aiohttp.ClientError:
        raise FetchError(errors.PROTOCOL_ERROR, "The request could not be sent.") from None
