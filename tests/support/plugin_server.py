"""A real plugin web server on loopback for registration tests.

`PluginServer` serves a dict of path -> Response on a free port in the range the outbound
allow-list admits in tests (8100-8199), and records the paths it was asked for.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_RANGE = range(8100, 8200)


@dataclass
class Response:
    body: bytes | str | dict = b""
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        if isinstance(self.body, dict):
            return json.dumps(self.body).encode()
        if isinstance(self.body, str):
            return self.body.encode()
        return self.body


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        self.server.requests.append(path)
        response = self.server.routes.get(path, Response(b'{"error": "not found"}', 404))
        body = response.payload()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Response]
    requests: list[str]


def _free_port() -> int:
    for port in PORT_RANGE:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8100-8199")


class PluginServer:
    def __init__(self):
        self._server = _Server(("127.0.0.1", _free_port()), _Handler)
        self._server.routes = {}
        self._server.requests = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def origin(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[str]:
        return self._server.requests

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, response: Response | dict | str | bytes) -> None:
        if not isinstance(response, Response):
            response = Response(response)
        self._server.routes[path] = response

    def __enter__(self) -> PluginServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
