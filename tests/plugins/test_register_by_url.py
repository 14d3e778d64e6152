"""Registering a plugin by URL: the pipeline fetches through the safe client from a real
loopback plugin server, validates, and records an immutable version."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from plugins.ingest.run import RunLater, execute_run
from plugins.models import Plugin, PluginVersion, RunStatus, ValidationState
from plugins.registration import SubmissionRejected, register_plugin_by_url
from tests.support.plugin_server import Response
from tests.support.plugins import (
    finding_codes,
    register_and_validate,
    serve_todo_plugin,
    todo_manifest,
)

pytestmark = pytest.mark.django_db


def test_it_fetches_manifest_and_spec_and_records_a_version(plugin_server, acme, alice):
    serve_todo_plugin(plugin_server)

    run = register_and_validate(acme, alice, plugin_server.url("/"))

    assert run.status == RunStatus.PASSED, list(run.findings.values_list("code", "message"))
    assert plugin_server.requests[:2] == ["/.well-known/ai-plugin.json", "/openapi.json"]
    version = run.version
    assert version.number == 1
    assert version.validation_state == ValidationState.PASSED
    assert version.plugin.name_for_model == "todo"
    assert version.plugin.name == "TODO List"
    assert [op["name"] for op in version.normalized["operations"]] == ["getTodos", "addTodo"]
    assert set(run.stage_timings) >= {
        "fetching_manifest",
        "fetching_spec",
        "checking",
        "checking_links",
    }


def test_it_gives_identical_content_the_same_version(plugin_server, acme, alice):
    serve_todo_plugin(plugin_server)
    first = register_and_validate(acme, alice, plugin_server.url("/"))

    second = register_and_validate(acme, alice, plugin_server.url("/"))

    assert second.version.pk == first.version.pk
    assert PluginVersion.objects.filter(plugin=first.version.plugin).count() == 1
    assert Plugin.objects.filter(organization=acme).count() == 1


def test_it_records_a_new_version_with_its_breaking_diff(plugin_server, acme, alice):
    serve_todo_plugin(plugin_server)
    first = register_and_validate(acme, alice, plugin_server.url("/"))
    serve_todo_plugin(plugin_server, operations=("getTodos",), extra_required_param=True)

    second = register_and_validate(acme, alice, plugin_server.url("/"))

    assert second.version.pk != first.version.pk
    assert second.version.number == 2
    diff = second.version.diff
    assert diff["removed"] == ["addTodo"]
    assert diff["breaking"] is True
    changed = {c["operation"]: c for c in diff["changed"]}
    assert changed["getTodos"]["breaking"] is True


def test_it_fails_when_the_manifest_is_missing(plugin_server, acme, alice):
    run = register_and_validate(acme, alice, plugin_server.url("/"))

    assert run.status == RunStatus.FAILED
    assert "fetch.manifest.http_status" in finding_codes(run)
    assert run.version.validation_state == ValidationState.FAILED


def test_it_reports_an_html_page_served_as_the_spec(plugin_server, acme, alice):
    plugin_server.route("/.well-known/ai-plugin.json", todo_manifest(plugin_server))
    plugin_server.route(
        "/openapi.json",
        Response("<!doctype html><html><body>Sign in</body>", content_type="text/html"),
    )

    run = register_and_validate(acme, alice, plugin_server.url("/"))

    assert run.status == RunStatus.FAILED
    assert "document.html" in {c.split(":")[0] for c in finding_codes(run)} or any(
        c.endswith("document.html") for c in finding_codes(run)
    )


def test_it_never_fetches_an_api_url_off_the_root_domain(plugin_server, acme, alice):
    plugin_server.route(
        "/.well-known/ai-plugin.json",
        todo_manifest(plugin_server, api_url=f"http://localhost:{plugin_server.port}/openapi.json"),
    )

    run = register_and_validate(acme, alice, plugin_server.url("/"))

    assert run.status == RunStatus.FAILED
    assert "manifest.api.url.off_domain" in finding_codes(run)
    assert plugin_server.requests == ["/.well-known/ai-plugin.json"]


def test_it_refuses_a_redirect_to_a_private_address(plugin_server, acme, alice):
    plugin_server.route(
        "/.well-known/ai-plugin.json",
        Response(status=302, headers={"Location": "http://127.0.0.1:9/x"}),
    )

    run = register_and_validate(acme, alice, plugin_server.url("/"))

    assert run.status == RunStatus.FAILED
    assert any(code.startswith("fetch.manifest.") for code in finding_codes(run))


def test_it_retries_a_server_error_then_fails_on_the_last_attempt(plugin_server, acme, alice):
    plugin_server.route("/.well-known/ai-plugin.json", Response(b"oops", status=503))
    submission = register_plugin_by_url(
        organization=acme, url=plugin_server.url("/"), visibility="private", submitted_by=alice
    )

    with pytest.raises(RunLater):
        execute_run(submission.run.pk, final_attempt=False)
    submission.run.refresh_from_db()
    assert submission.run.status == RunStatus.QUEUED

    execute_run(submission.run.pk, final_attempt=True)
    submission.run.refresh_from_db()
    assert submission.run.status == RunStatus.FAILED
    assert submission.run.attempts == 2
    assert "fetch.manifest.http_status" in finding_codes(submission.run)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http://user@example.com/",
        "http://127.0.0.1:80\\@example.com/",
    ],
)
def test_it_refuses_ssrf_urls_at_submission(acme, alice, url):
    with pytest.raises(SubmissionRejected) as caught:
        register_plugin_by_url(organization=acme, url=url, visibility="private", submitted_by=alice)
    assert caught.value.code.startswith("outbound.")
    assert not PluginVersion.objects.exists()


def test_it_refuses_a_hostname_resolving_to_a_private_address(acme, alice, monkeypatch):
    from plugins.outbound import transport

    monkeypatch.setattr(transport, "resolve", lambda host, port: ["10.0.0.1"])
    run = register_and_validate(acme, alice, "http://intranet.example.com/")

    assert run.status == RunStatus.FAILED
    assert "fetch.manifest.address_blocked" in finding_codes(run)


def test_a_validated_version_is_immutable(plugin_server, acme, alice):
    serve_todo_plugin(plugin_server)
    version = register_and_validate(acme, alice, plugin_server.url("/")).version

    version.raw_openapi = b"{}"
    with pytest.raises(ValidationError):
        version.save()


def test_a_url_registration_joins_the_uploaded_plugin_of_the_same_name_and_origin(
    plugin_server, acme, alice
):
    import json

    from plugins.registration import register_plugin_by_upload

    serve_todo_plugin(plugin_server)
    manifest = json.dumps(todo_manifest(plugin_server)).encode()
    uploaded = register_plugin_by_upload(
        organization=acme,
        manifest=manifest,
        openapi=b'{"openapi": "3.0.0", "paths": {}}',
        origin=f"http://127.0.0.1:{plugin_server.port}",  # the same origin: scheme, host, port
        visibility="private",
        submitted_by=alice,
    )
    execute_run(uploaded.run.pk)  # the worker reads the upload and learns its name

    run = register_and_validate(acme, alice, plugin_server.url("/"))

    assert run.version.plugin_id == uploaded.plugin.pk
    assert run.version.number == 2
    assert list(Plugin.objects.filter(organization=acme)) == [uploaded.plugin]
    assert Plugin.objects.get(pk=uploaded.plugin.pk).source_url == plugin_server.url(
        "/.well-known/ai-plugin.json"
    )
