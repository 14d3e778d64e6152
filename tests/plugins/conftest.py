from __future__ import annotations

import pytest

from tests.support.plugin_server import PluginServer, Response


@pytest.fixture
def plugin_server():
    with PluginServer() as server:
        yield server


def todo_manifest(server: PluginServer, *, api_url: str | None = None, **overrides) -> dict:
    manifest = {
        "schema_version": "v1",
        "name_for_human": "TODO List",
        "name_for_model": "todo",
        "description_for_human": "Manage your TODO list.",
        "description_for_model": "Plugin for managing a TODO list.",
        "auth": {"type": "none"},
        "api": {"type": "openapi", "url": api_url or server.url("/openapi.json")},
        "logo_url": server.url("/logo.png"),
        "contact_email": "support@example.com",
        "legal_info_url": server.url("/legal"),
    }
    manifest.update(overrides)
    return manifest


def todo_openapi(
    server: PluginServer,
    *,
    operations: tuple[str, ...] = ("getTodos", "addTodo"),
    extra_required_param: bool = False,
) -> dict:
    paths: dict = {}
    if "getTodos" in operations:
        params = [
            {"in": "path", "name": "username", "required": True, "schema": {"type": "string"}}
        ]
        if extra_required_param:
            params.append(
                {"in": "query", "name": "list", "required": True, "schema": {"type": "string"}}
            )
        paths.setdefault("/todos/{username}", {})["get"] = {
            "operationId": "getTodos",
            "summary": "Get the todos",
            "parameters": params,
            "responses": {"200": {"description": "OK"}},
        }
    if "addTodo" in operations:
        paths.setdefault("/todos/{username}", {})["post"] = {
            "operationId": "addTodo",
            "summary": "Add a todo",
            "parameters": [
                {"in": "path", "name": "username", "required": True, "schema": {"type": "string"}}
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "properties": {"todo": {"type": "string"}}}
                    }
                },
            },
            "responses": {"200": {"description": "OK"}},
        }
    return {
        "openapi": "3.0.1",
        "info": {"title": "TODO", "version": "v1"},
        "servers": [{"url": server.url("")}],
        "paths": paths,
    }


def serve_todo_plugin(server: PluginServer, **openapi_options) -> None:
    server.route("/.well-known/ai-plugin.json", todo_manifest(server))
    server.route("/openapi.json", todo_openapi(server, **openapi_options))
    server.route("/logo.png", Response(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/png"))
    server.route("/legal", Response("<html>terms</html>", content_type="text/html"))
