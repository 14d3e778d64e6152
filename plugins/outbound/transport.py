"""Vetted connections: resolve once, check every address, connect to exactly that address.

`VettedTransport` is an `httpx.BaseTransport` over an `httpcore.ConnectionPool` whose network
backend (`VettedBackend`) is the only code in the project that opens outbound TCP connections.
For each new connection `connect_tcp` receives the URL's host name from httpcore, resolves it
once (through the module-level `resolve`, the test seam), refuses the whole destination if any
resolved address is denied by `addresses.is_blocked_address` and not covered by the private-
destination list, and then connects to one of those vetted IP addresses. No later lookup
happens, so DNS rebinding between check and connect is impossible. TLS is started by httpcore on
that socket with the host name as SNI and for certificate verification; the Host header comes
from the URL.

Every socket operation is also bounded by the request's total `Deadline`, so a server that
trickles bytes (headers or body) cannot hold a fetch past it.

Errors come out as FetchError; httpcore exceptions never escape this module.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import math
import os
import queue
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator

import certifi
import httpcore
import httpx

from plugins.outbound import errors
from plugins.outbound.addresses import is_blocked_address
from plugins.outbound.deadline import Deadline
from plugins.outbound.errors import FetchError
from plugins.outbound.private_destinations import PrivateDestination, permits

logger = logging.getLogger(__name__)


def resolve(host: str, port: int) -> list[str]:
    """Resolve `host` to its IP addresses (strings, in resolver order) with the OS resolver.

    This is the one seam tests may replace (``monkeypatch.setattr(transport, "resolve", ...)``)
    to simulate a name that resolves to a private address. Raises OSError on failure.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class VettedTransport(httpx.BaseTransport):
    """An httpx transport that only ever connects to vetted addresses, within a deadline.

    Build one per fetch (it carries that fetch's deadline and allow-list) and close it after.
    """

    def __init__(
        self,
        *,
        deadline: Deadline,
        private_destinations: tuple[PrivateDestination, ...],
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or default_ssl_context(),
            max_connections=4,
            http1=True,
            http2=False,
            retries=0,
            network_backend=VettedBackend(
                deadline=deadline, private_destinations=private_destinations
            ),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with _mapped_errors():
            core_response = self._pool.handle_request(core_request(request))
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response.stream),
            extensions=core_response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def core_request(request: httpx.Request) -> httpcore.Request:
    """httpx's request as httpcore's pool takes it."""
    return httpcore.Request(
        method=request.method,
        url=httpcore.URL(
            scheme=request.url.raw_scheme,
            host=request.url.raw_host,
            port=request.url.port,
            target=request.url.raw_path,
        ),
        headers=request.headers.raw,
        content=request.stream,
        extensions={"timeout": request.extensions.get("timeout", {})},
    )


class VettedBackend(httpcore.NetworkBackend):
    """A network backend whose `connect_tcp` resolves, vets and pins the destination IP."""

    def __init__(
        self, *, deadline: Deadline, private_destinations: tuple[PrivateDestination, ...]
    ) -> None:
        self._deadline = deadline
        self._private_destinations = private_destinations
        self._socket_backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        # The connect timeout bounds name lookup plus TCP connect, within the total deadline.
        connect_deadline = Deadline(
            min(math.inf if timeout is None else timeout, self._deadline.remaining())
        )
        addresses = self._vetted_addresses(host, port, connect_deadline)
        failure: Exception = httpcore.ConnectTimeout("deadline exceeded")
        for ip in addresses:
            # Connecting to an IP literal: the socket layer does no name lookup here.
            try:
                stream = self._socket_backend.connect_tcp(
                    ip,
                    port,
                    timeout=connect_deadline.clamp(None, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectTimeout as exc:
                failure = exc
                break
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            logger.debug("outbound connected host=%s ip=%s port=%s", host, ip, port)
            return DeadlineStream(stream, self._deadline)
        raise failure

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover
        raise FetchError(errors.INVALID_URL, "Unix sockets cannot be fetched.")

    def sleep(self, seconds: float) -> None:  # pragma: no cover - retries are disabled
        time.sleep(seconds)

    def _vetted_addresses(self, host: str, port: int, deadline: Deadline) -> list[str]:
        """Every address `host` stands for, if all of them may be reached; else FetchError."""
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            addresses = _resolve_within(host, port, deadline)
        for ip in addresses:
            if is_blocked_address(ip) and not permits(
                self._private_destinations, written_host=host, ip=ip, port=port
            ):
                logger.warning("outbound blocked host=%s ip=%s port=%s", host, ip, port)
                raise FetchError(errors.ADDRESS_BLOCKED, errors.ADDRESS_BLOCKED_MESSAGE)
        return addresses


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every read, write and TLS handshake ends by the deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        try:
            inner = self._inner.start_tls(ssl_context, server_hostname, timeout)
        except httpcore.ConnectError as exc:
            if isinstance(exc.__cause__, ssl.SSLCertVerificationError):
                raise FetchError(
                    errors.CONNECT_FAILED, "The server's TLS certificate could not be verified."
                ) from None
            raise
        return DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


HTTP_1_1 = ["http/1.1"]


class _SharedSSLContext(ssl.SSLContext):
    """A context every thread and event loop of the process can share: its ALPN list is set
    once, when it is built (HTTP/1.1, the only protocol the outbound client speaks), and
    httpcore's call to `set_alpn_protocols` on every new connection becomes a check instead of
    a mutation — so no handshake in one thread reads a list another thread is replacing."""

    def set_alpn_protocols(self, alpn_protocols) -> None:
        if list(alpn_protocols) != HTTP_1_1:
            raise ValueError("the outbound client speaks HTTP/1.1 only")


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """Certificate verification against certifi's roots (or SSL_CERT_FILE / SSL_CERT_DIR), as
    httpx's default; built once per process (loading the roots takes tens of milliseconds)."""
    context = _SharedSSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates and host names
    if os.environ.get("SSL_CERT_FILE"):
        context.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
    elif os.environ.get("SSL_CERT_DIR"):
        context.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
    else:
        context.load_verify_locations(cafile=certifi.where())
    ssl.SSLContext.set_alpn_protocols(context, HTTP_1_1)
    return context


# A DNS query lost on the way (a busy or flaky server drops UDP under load) is asked again by
# glibc only after its per-try timeout, 5 s by default, and getaddrinfo can't be interrupted. So
# a lookup still unanswered after RESOLVE_RETRY_AFTER seconds is made again alongside it (a new
# query), and the first to finish answers; at most RESOLVE_MAX_LOOKUPS per name, all within the
# fetch's deadline. The answer is vetted as before, whichever lookup gave it.
RESOLVE_RETRY_AFTER = 1.0
RESOLVE_MAX_LOOKUPS = 3


def _resolve_within(host: str, port: int, deadline: Deadline) -> list[str]:
    """Call `resolve` in daemon threads so a hanging resolver cannot outlast the deadline, and
    ask again alongside a lookup that hasn't answered within RESOLVE_RETRY_AFTER."""
    outcomes: queue.SimpleQueue[tuple[list[str] | None, Exception | None]] = queue.SimpleQueue()

    def run() -> None:
        try:
            outcomes.put((resolve(host, port), None))
        except Exception as exc:  # reported below, in the caller's thread
            outcomes.put((None, exc))

    lookups = 0
    while True:
        if lookups < RESOLVE_MAX_LOOKUPS:
            threading.Thread(target=run, name="outbound-resolve", daemon=True).start()
            lookups += 1
        wait = deadline.remaining()
        if lookups < RESOLVE_MAX_LOOKUPS:
            wait = min(wait, RESOLVE_RETRY_AFTER)
        try:
            addresses, error = outcomes.get(timeout=max(wait, 0))
            break
        except queue.Empty:
            if deadline.remaining() <= 0:
                raise FetchError(
                    errors.TIMEOUT, "Looking up the host name timed out.", transient=True
                ) from None
    if error is not None or not addresses:
        temporary = isinstance(error, socket.gaierror) and error.errno == socket.EAI_AGAIN
        raise FetchError(
            errors.DNS_FAILED, "The host name could not be resolved.", transient=temporary
        )
    return list(addresses)


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, core_stream: Iterable[bytes]) -> None:
        self._core_stream = core_stream

    def __iter__(self) -> Iterator[bytes]:
        with _mapped_errors():
            yield from self._core_stream

    def close(self) -> None:
        close = getattr(self._core_stream, "close", None)
        if close is not None:
            close()


@contextlib.contextmanager
def _mapped_errors() -> Iterator[None]:
    """Turn httpcore's exceptions into FetchErrors whose messages carry no wire content."""
    try:
        yield
    except httpcore.TimeoutException:
        raise FetchError(
            errors.TIMEOUT, "The server did not answer in time.", transient=True
        ) from None
    except httpcore.ConnectError:
        raise FetchError(
            errors.CONNECT_FAILED, "Could not connect to the server.", transient=True
        ) from None
    except httpcore.NetworkError:
        raise FetchError(
            errors.CONNECT_FAILED, "The connection to the server was lost.", transient=True
        ) from None
    except httpcore.UnsupportedProtocol:
        raise FetchError(errors.SCHEME_NOT_ALLOWED, "Only http and https can be fetched.") from None
    except httpcore.RemoteProtocolError:
        # Also raised when a server closes the connection without answering: may be transient.
        raise FetchError(
            errors.PROTOCOL_ERROR, "The server sent an invalid HTTP response.", transient=True
        ) from None
    except httpcore.ProtocolError:
        raise FetchError(errors.PROTOCOL_ERROR, "The request could not be sent.") from None
