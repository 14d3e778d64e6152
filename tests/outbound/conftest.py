"""Real HTTP servers on loopback (ports 8100-8199) for the outbound client's tests.

`serve({"/path": handler, ...})` starts a threaded server and returns a `LoopbackServer`
that records every request it receives and counts every TCP connection it accepts, so
tests can assert that a blocked destination was never even connected to.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable

import pytest

from plugins.outbound import transport
from tests.support.loopback import (
    Handler,
    LoopbackHTTPServer,
    LoopbackServer,
    Route,
    bind_free_port,
)

DEFAULT_PRIVATE_DESTINATIONS = ["127.0.0.1:8100-8199", "localhost:8100-8199"]


@pytest.fixture
def serve():
    """serve(routes, tls_context=None) -> LoopbackServer; shut down after the test."""
    servers: list[LoopbackHTTPServer] = []

    def start(routes: dict[str, Route], *, tls_context: ssl.SSLContext | None = None):
        httpd = bind_free_port(routes)
        if tls_context is not None:
            httpd.socket = tls_context.wrap_socket(httpd.socket, server_side=True)
        servers.append(httpd)
        threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return LoopbackServer(httpd, "https" if tls_context else "http")

    yield start
    for httpd in servers:
        httpd.stop.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def outbound_settings(settings):
    """The dev/test allow-list and plain http allowed; tests narrow these as needed."""
    settings.MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS = list(DEFAULT_PRIVATE_DESTINATIONS)
    settings.MARKETPLACE_REQUIRE_HTTPS = False
    return settings


@pytest.fixture
def fake_dns(monkeypatch):
    """Map made-up host names to addresses through the client's one resolver seam.

    Real DNS cannot be set up here; names not in the map go to the real resolver.
    Returns the map and records each name looked up in `fake_dns.lookups`.
    """
    real_resolve = transport.resolve

    class FakeDNS(dict):
        lookups: list[str]

    names = FakeDNS()
    names.lookups = []

    def resolve(host: str, port: int) -> list[str]:
        names.lookups.append(host)
        if host in names:
            return list(names[host])
        return real_resolve(host, port)

    monkeypatch.setattr(transport, "resolve", resolve)
    return names


def drip(handler: Handler, data: bytes, every: float) -> None:
    """Write `data` one byte at a time, `every` seconds apart, until done or shut down."""
    for byte in data:
        if handler.stopping():
            return
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        handler.wait(every)


def elapsed_of(call: Callable[[], object]) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        call()
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None
