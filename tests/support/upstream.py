"""A real plugin upstream on loopback for the proxy tests: routes by method and path template.

`Upstream` records every request; each route is a function of (handler, path values) that
replies. `data_plugin_routes(...)` behaves like the seed's data plugin: it verifies the caller
assertion with the marketplace's published keys and refuses databases outside its claim.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable

import jwt

from tests.support.loopback import Handler, LoopbackServer, bind_free_port


class _TemplateRoutes(dict):
    """path → route, where keys may be "METHOD /path/{param}" templates."""

    def get(self, path, default=None):
        return lambda handler: self.dispatch(handler, path) or None

    def dispatch(self, handler: Handler, path: str) -> bool:
        for key, route in self.items():
            method, _, template = key.partition(" ")
            if method != handler.command:
                continue
            regex = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template)) + "$"
            found = re.match(regex, path)
            if found:
                route(handler, *found.groups())
                return True
        handler.reply(404, b'{"error": "not found"}')
        return True


class Upstream:
    def __init__(self, routes: dict[str, Callable] | None = None) -> None:
        self._routes = _TemplateRoutes(routes or {})
        self._httpd = bind_free_port(self._routes)
        self._server = LoopbackServer(self._httpd)
        self.url = self._server.url

    def route(self, key: str, route: Callable) -> None:
        self._routes[key] = route

    @property
    def seen(self):
        return self._server.seen

    @property
    def connections(self) -> int:
        return self._server.connections

    def __enter__(self) -> Upstream:
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()


def reply_json(handler: Handler, status: int, payload) -> None:
    handler.reply(status, json.dumps(payload).encode())


def verify_assertion(handler: Handler, jwks: dict, audience: str) -> dict | None:
    """The plugin side: verify X-Marketplace-Assertion with the published JWKS."""
    token = handler.headers.get("X-Marketplace-Assertion")
    if not token:
        return None
    try:
        kid = jwt.get_unverified_header(token)["kid"]
        key = jwt.PyJWKSet.from_dict(jwks)[kid]
        return jwt.decode(
            token, key.key, algorithms=["ES256"], audience=audience, options={"require": ["exp"]}
        )
    except (jwt.PyJWTError, KeyError):
        return None


def data_plugin_routes(jwks: dict, audience: str) -> dict[str, Callable]:
    def query(handler: Handler) -> None:
        claims = verify_assertion(handler, jwks, audience)
        if claims is None:
            return reply_json(handler, 401, {"error": "bad assertion"})
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.server.seen[-1].body or b"{}") if length else {}
        if body.get("database") not in claims.get("databases", []):
            return reply_json(handler, 403, {"error": "database not in claim"})
        reply_json(
            handler,
            200,
            {"sql": "SELECT 1", "results": [[1]], "row_count": 1, "database": body["database"]},
        )

    def cosmos(handler: Handler, container: str) -> None:
        reply_json(handler, 200, {"container": container, "items": []})

    def tables(handler: Handler) -> None:
        reply_json(handler, 200, [{"name": "orders", "rows": 3}, {"name": "users", "rows": 2}])

    return {
        "POST /query": query,
        "GET /containers/{container}/query": cosmos,
        "GET /databases": tables,
    }
