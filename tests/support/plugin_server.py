"""A plugin web server on loopback for registration tests: static documents by path.

Built on tests.support.loopback (the outbound client's test server): `route(path, response)`
serves a fixed Response, and `requests` lists the paths asked for, in order.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from tests.support.loopback import Handler, LoopbackServer, bind_free_port


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

    def __call__(self, handler: Handler) -> None:
        handler.reply(
            self.status, self.payload(), content_type=self.content_type, headers=self.headers
        )


class PluginServer:
    def __init__(self):
        self._httpd = bind_free_port({})
        self._server = LoopbackServer(self._httpd)

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def requests(self) -> list[str]:
        return [seen.path.split("?", 1)[0] for seen in self._server.seen]

    def url(self, path: str = "/") -> str:
        return f"{self._server.url}{path}"

    def route(self, path: str, response: Response | dict | str | bytes) -> None:
        self._httpd.routes[path] = (
            response if isinstance(response, Response) else Response(response)
        )

    def handle(self, path: str, function) -> None:
        """Answer `path` with `function(handler)` (tests.support.loopback.Handler)."""
        self._httpd.routes[path] = function

    def trickle(self, path: str, *, every: float = 1.0, size: int = 100_000) -> None:
        """Answer `path` with 200 at once, then send the body one byte every `every` seconds
        (a hostile or broken host that never quite times out on a per-read timeout)."""

        def slow(handler: Handler) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(size))
            handler.end_headers()
            for _ in range(size):
                if handler.stopping():
                    return
                handler.wfile.write(b" ")
                handler.wfile.flush()
                handler.wait(every)

        self._httpd.routes[path] = slow

    def __enter__(self) -> PluginServer:
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
