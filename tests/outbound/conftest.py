"""Real HTTP servers on loopback (ports 8100-8199) for the outbound client's tests.

`serve({"/path": handler, ...})` starts a threaded server and returns a `LoopbackServer`
that records every request it receives and counts every TCP connection it accepts, so
tests can assert that a blocked destination was never even connected to.
"""

from __future__ import annotations

import http.server
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from plugins.outbound import transport

TEST_PORTS = range(8100, 8200)
DEFAULT_ALLOWLIST = ["127.0.0.1:8100-8199", "localhost:8100-8199"]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


Route = Callable[["Handler"], None]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackHTTPServer

    def do_request(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.seen.append(Seen(self.command, self.path, headers, body))
        route = self.server.routes.get(self.path.split("?", 1)[0])
        try:
            if route is None:
                self.reply(404, b"not found")
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True
        finally:
            self.server.handled.release()

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_request

    def reply(
        self,
        status: int,
        body: bytes = b"",
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def redirect(self, status: int, location: str) -> None:
        self.reply(status, headers={"Location": location})

    def stopping(self) -> bool:
        return self.server.stop.is_set()

    def wait(self, seconds: float) -> None:
        """Sleep, but wake up when the server shuts down."""
        self.server.stop.wait(seconds)

    def log_message(self, format, *args):  # keep test output quiet
        pass


class LoopbackHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address, routes: dict[str, Route]) -> None:
        super().__init__(address, Handler)
        self.routes = routes
        self.seen: list[Seen] = []
        self.connections = 0
        self.handled = threading.Semaphore(0)
        self.stop = threading.Event()

    def process_request(self, request, client_address):
        self.connections += 1
        super().process_request(request, client_address)


class LoopbackServer:
    def __init__(self, server: LoopbackHTTPServer, scheme: str = "http") -> None:
        self.httpd = server
        self.port = server.server_address[1]
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.localhost_url = f"{scheme}://localhost:{self.port}"

    @property
    def seen(self) -> list[Seen]:
        return self.httpd.seen

    @property
    def connections(self) -> int:
        return self.httpd.connections

    def wait_handled(self, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until `count` requests have finished in the handler threads."""
        for _ in range(count):
            assert self.httpd.handled.acquire(timeout=timeout), "handler did not finish"


def bind_free_port(routes: dict[str, Route]) -> LoopbackHTTPServer:
    for port in random.sample(TEST_PORTS, len(TEST_PORTS)):
        try:
            return LoopbackHTTPServer(("127.0.0.1", port), routes)
        except OSError:
            continue
    raise RuntimeError("no free port in 8100-8199")


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
    settings.MARKETPLACE_OUTBOUND_ALLOWLIST = list(DEFAULT_ALLOWLIST)
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


@pytest.fixture
def refusing_port():
    """A port in the test range that refuses connections for the whole test.

    The socket stays bound but never listens, so nobody else can start a server on it meanwhile.
    """
    for port in random.sample(TEST_PORTS, len(TEST_PORTS)):
        probe = socket.socket()
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            probe.close()
            continue
        with probe:
            yield port
        return
    raise RuntimeError("no free port in 8100-8199")
