"""A trivial plugin for the proxy benchmark: a bare ASGI app answering small JSON at once."""

from __future__ import annotations

import json

TABLES = json.dumps([{"name": "orders", "rows": 3}, {"name": "users", "rows": 2}]).encode()
ANSWER = json.dumps({"sql": "SELECT 1", "results": [[1]], "row_count": 1}).encode()


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = ANSWER if scope["method"] == "POST" else TABLES
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
