"""Helpers for tests that register and validate plugins against loopback plugin servers."""

from __future__ import annotations

import json
import time
from pathlib import Path

from plugins import review
from plugins.ingest.link_stage import check_run_links
from plugins.ingest.run import execute_run
from plugins.models import Plugin, ValidationRun
from plugins.registration import register_plugin_by_upload, register_plugin_by_url
from tests.support.plugin_server import PluginServer, Response


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


def register_and_validate(org, user, url, visibility="private"):
    """Register by URL and run the validation pipeline in-process, as the workers would: the
    run, then its link check (the `links` queue's task); returns the finished run."""
    submission = register_plugin_by_url(
        organization=org, url=url, visibility=visibility, submitted_by=user
    )
    execute_run(submission.run.pk)
    check_run_links(submission.run.pk)
    submission.run.refresh_from_db()
    return submission.run


def finding_codes(run) -> set[str]:
    return set(run.findings.values_list("code", flat=True))


DEMO_DIR = Path(__file__).resolve().parents[2] / "marketplace" / "demo"


def upload_demo_todo(org, user, visibility="private"):
    """Register the demo TODO plugin by upload (queued, not yet validated)."""
    return register_plugin_by_upload(
        organization=org,
        manifest=(DEMO_DIR / "todo-manifest.json").read_bytes(),
        openapi=(DEMO_DIR / "todo-openapi.yaml").read_bytes(),
        origin="todo.demo.example",
        visibility=visibility,
        submitted_by=user,
    )


def demo_manifest(**overrides) -> bytes:
    doc = json.loads((DEMO_DIR / "todo-manifest.json").read_text())
    doc.update(overrides)
    return json.dumps(doc).encode()


def upload(org, user, *, visibility="public", **overrides):
    """Upload the demo TODO plugin with manifest fields overridden, validated in-process."""
    submission = register_plugin_by_upload(
        organization=org,
        manifest=demo_manifest(**overrides),
        openapi=(DEMO_DIR / "todo-openapi.yaml").read_bytes(),
        origin="todo.demo.example",
        visibility=visibility,
        submitted_by=user,
    )
    execute_run(submission.run.pk)
    submission.version.refresh_from_db()
    assert submission.version.validation_state == "passed"
    return submission


def publish(submission, operator) -> Plugin:
    """Submit the version for review and approve it."""
    plugin = Plugin.objects.get(pk=submission.plugin.pk)
    review.submit_for_review(plugin=plugin, version=submission.version, submitted_by=operator)
    return review.approve_plugin(plugin=plugin, reviewer=operator)


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {seconds}s")


def finished(run: ValidationRun) -> ValidationRun | None:
    run.refresh_from_db()
    return run if run.is_finished else None


def submit(org, user, url, visibility="private"):
    """Register by URL (queued for a worker); returns the run."""
    return register_plugin_by_url(
        organization=org, url=url, visibility=visibility, submitted_by=user
    ).run
