"""The demo plugins' API, served on loopback in `make run` (Procfile `demo`), so "Try it" and
the installed-plugin lookup work out of the box.

A plain ASGI application (no framework, nothing stored: TODOs live in the process) on
127.0.0.1:DEMO_PLUGIN_PORT (a setting, 8101 by default), which the development outbound
allow-list admits (MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS: 127.0.0.1, ports 8100-8199).
It answers the demo TODO plugin (`/todos/{username}`: list, add, delete; and its documents) and
the demo data plugin (`/sql/query`, `/cosmos/query`: canned rows, any key). `seed_demo`
registers the demo documents with their URLs pointed here (`documents_for_local_server`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote

DEMO_DIR = Path(__file__).resolve().parent / "demo"
_PUBLISHED_SERVERS = ("https://todo.demo.example", "https://data.acme.demo.example")
MAX_BODY = 64 * 1024
MAX_TODOS = 200

# The TODO plugin's documents, so it can also be registered by URL.
_DOCUMENTS = {
    "/.well-known/ai-plugin.json": "todo-manifest.json",
    "/openapi.yaml": "todo-openapi.yaml",
}
_todos: dict[str, list[str]] = defaultdict(list)


def demo_plugin_origin() -> str:
    from django.conf import settings

    return f"127.0.0.1:{settings.DEMO_PLUGIN_PORT}"


def documents_for_local_server(filename: str) -> bytes:
    """A demo document from marketplace/demo with its URLs (servers, the manifest's api.url)
    pointing at this app."""
    text = (DEMO_DIR / filename).read_text()
    for server in _PUBLISHED_SERVERS:
        text = text.replace(server, f"http://{demo_plugin_origin()}")
    return text.encode()


def _answer(method: str, path: str, body: object) -> tuple[int, object]:
    if method == "GET" and path in _DOCUMENTS:
        return 200, documents_for_local_server(_DOCUMENTS[path])
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if len(parts) == 2 and parts[0] == "todos" and parts[1]:
        todos = _todos[parts[1]]
        if method == "GET":
            return 200, {"todos": todos}
        if method == "POST" and isinstance(body, dict) and isinstance(body.get("todo"), str):
            if len(todos) >= MAX_TODOS:
                return 409, {"error": "That list is full."}
            todos.append(body["todo"][:500])
            return 200, {"todos": todos}
        if method == "DELETE" and isinstance(body, dict):
            index = body.get("todo_idx")
            if isinstance(index, int) and 0 <= index < len(todos):
                todos.pop(index)
                return 200, {"todos": todos}
            return 404, {"error": "No such todo."}
        return 400, {"error": 'Send {"todo": "…"}.'}
    if method == "POST" and path in ("/sql/query", "/cosmos/query") and isinstance(body, dict):
        where = body.get("database") or body.get("container")
        return 200, {
            "source": where,
            "question": body.get("question"),
            "rows": [{"region": "north", "orders": 42}, {"region": "south", "orders": 17}],
        }
    return 404, {"error": "Not found."}


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body"):
            break
    try:
        body = json.loads(b"".join(chunks) or b"null")
    except ValueError:
        body = None
    status, answer = _answer(scope["method"], scope["path"], body)
    payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(payload)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
