"""The pipeline around the validator: OpenPlugin documents by URL, bundling same-domain remote
$refs, oversized documents, and the daily drift check of published versions."""

from __future__ import annotations

import pytest

from plugins import review
from plugins.ingest.run import execute_run
from plugins.models import Plugin, RunStatus, RunTrigger, ValidationRun
from plugins.selectors import catalog_generation
from plugins.tasks import revalidate_published_versions
from tests.support.plugin_server import Response
from tests.support.plugins import (
    finding_codes,
    publish,
    register_and_validate,
    serve_todo_plugin,
    todo_openapi,
    upload,
)

pytestmark = pytest.mark.django_db


def openplugin_document(server) -> dict:
    document = todo_openapi(server)
    document["x-openplugin"] = {
        "name": "Todo Helper",
        "description": "Keeps your todos.",
        "contactEmail": "todo@example.com",
        "schemaVersion": "1.0.0",
    }
    document["x-plugin-auth"] = {"type": "none"}
    return document


def test_it_registers_an_openapi_document_carrying_x_openplugin(plugin_server, acme, alice):
    plugin_server.route("/openapi.json", openplugin_document(plugin_server))

    run = register_and_validate(acme, alice, plugin_server.url("/openapi.json"))

    assert run.status == RunStatus.PASSED, list(run.findings.values_list("code", "message"))
    assert plugin_server.requests == ["/openapi.json"]
    assert run.version.source_kind == "openapi_url"
    assert run.version.normalized["dialect"] == "openplugin"
    assert run.version.plugin.name == "Todo Helper"


def test_it_bundles_a_remote_ref_on_the_plugins_own_domain(plugin_server, acme, alice):
    document = openplugin_document(plugin_server)
    body = document["paths"]["/todos/{username}"]["post"]["requestBody"]
    body["content"]["application/json"]["schema"] = {
        "$ref": plugin_server.url("/schemas.json") + "#/Todo"
    }
    plugin_server.route("/openapi.json", document)
    plugin_server.route(
        "/schemas.json",
        {
            "Todo": {
                "type": "object",
                "required": ["todo"],
                "properties": {"todo": {"type": "string"}},
            }
        },
    )

    run = register_and_validate(acme, alice, plugin_server.url("/openapi.json"))

    assert run.status == RunStatus.PASSED, list(run.findings.values_list("code", "message"))
    assert plugin_server.requests == ["/openapi.json", "/schemas.json"]
    assert set(run.version.bundled_refs) == {plugin_server.url("/schemas.json")}
    add = next(op for op in run.version.normalized["operations"] if op["name"] == "addTodo")
    assert add["request_body"]["schema"]["required"] == ["todo"]


def test_it_refuses_a_spec_over_the_size_budget(plugin_server, acme, alice):
    plugin_server.route("/openapi.json", Response(b'{"x": "' + b"a" * (6 * 1024 * 1024) + b'"}'))

    run = register_and_validate(acme, alice, plugin_server.url("/openapi.json"))

    assert run.status == RunStatus.FAILED
    assert "fetch.openapi.too_large" in finding_codes(run)


def test_it_flags_drift_when_the_live_documents_of_a_published_version_change(
    plugin_server, acme, alice, django_capture_on_commit_callbacks
):
    serve_todo_plugin(plugin_server)
    run = register_and_validate(acme, alice, plugin_server.url("/"))
    plugin = Plugin.objects.get(pk=run.version.plugin_id)
    review.submit_for_review(plugin=plugin, version=run.version, submitted_by=alice)
    review.approve_plugin(plugin=plugin, reviewer=alice)
    serve_todo_plugin(plugin_server, operations=("getTodos",))

    with django_capture_on_commit_callbacks() as queued:
        assert revalidate_published_versions() == 1
    assert len(queued) == 1
    recheck = ValidationRun.objects.get(trigger=RunTrigger.REVALIDATION)
    execute_run(recheck.pk)

    recheck.refresh_from_db()
    plugin.refresh_from_db()
    assert recheck.drift is True
    assert "drift.documents_changed" in finding_codes(recheck)
    assert plugin.drift_detected_at is not None
    assert recheck.version_id == plugin.published_version_id  # the version itself is untouched
    assert plugin.published_version.normalized == run.version.normalized


def test_an_unchanged_published_version_shows_no_drift(plugin_server, acme, alice):
    serve_todo_plugin(plugin_server)
    run = register_and_validate(acme, alice, plugin_server.url("/"))
    plugin = Plugin.objects.get(pk=run.version.plugin_id)
    review.submit_for_review(plugin=plugin, version=run.version, submitted_by=alice)
    review.approve_plugin(plugin=plugin, reviewer=alice)

    revalidate_published_versions()
    recheck = ValidationRun.objects.get(trigger=RunTrigger.REVALIDATION)
    execute_run(recheck.pk)

    recheck.refresh_from_db()
    assert recheck.status == RunStatus.PASSED
    assert recheck.drift is False
    plugin.refresh_from_db()
    assert plugin.drift_detected_at is None


def test_a_finished_run_is_left_alone_when_its_task_is_redelivered(plugin_server, acme, alice):
    serve_todo_plugin(plugin_server)
    run = register_and_validate(acme, alice, plugin_server.url("/"))
    requests_before = len(plugin_server.requests)

    assert execute_run(run.pk) is None

    run.refresh_from_db()
    assert run.attempts == 1
    assert len(plugin_server.requests) == requests_before


def test_a_verdict_forgets_the_storefront_caches_only_for_a_published_plugin(acme, alice):
    generation = catalog_generation()

    first = upload(acme, alice)  # validated; the plugin is not in the catalog

    assert catalog_generation() == generation
    publish(first, alice)
    generation = catalog_generation()

    second = upload(acme, alice, description_for_human="Keeps your todos, and more.")

    assert second.version.plugin_id == first.plugin.pk
    assert catalog_generation() > generation  # the listed plugin's description changed
