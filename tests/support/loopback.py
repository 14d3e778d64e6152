"""Real HTTP servers on loopback (ports 8100-8199) for tests that make outbound requests.

A `LoopbackServer` records every request it receives and counts every TCP connection it accepts,
so tests can assert that a blocked destination was never even connected to. Routes map a path
to a function of the request handler (`handler.reply(...)`, `handler.redirect(...)`).
"""

from __future__ import annotations

import http.server
import random
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass

TEST_PORTS = range(8100, 8200)


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

    def wait_handled(self, count: int = 1, timeout: float = 30.0) -> None:
        """Wait until `count` requests have finished in the handler threads."""
        for _ in range(count):
            assert self.httpd.handled.acquire(timeout=timeout), "handler did not finish"


def free_test_port() -> int:
    """A port of TEST_PORTS nothing listens on now, for a server a test starts itself."""
    for port in random.sample(TEST_PORTS, len(TEST_PORTS)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8100-8199")


def bind_free_port(routes: dict[str, Route]) -> LoopbackHTTPServer:
    for port in random.sample(TEST_PORTS, len(TEST_PORTS)):
        try:
            return LoopbackHTTPServer(("127.0.0.1", port), routes)
        except OSError:
            continue
    raise RuntimeError("no free port in 8100-8199")
