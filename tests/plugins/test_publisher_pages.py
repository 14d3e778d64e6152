"""The publisher console and the storefront, as a person uses them."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Membership, Role
from plugins.ingest.link_stage import check_run_links
from plugins.ingest.run import execute_run
from plugins.models import Plugin, ReviewState, ValidationRun

pytestmark = pytest.mark.django_db
DEMO = Path(__file__).resolve().parents[2] / "marketplace" / "demo"


@pytest.fixture
def alice_web(client, alice, acme):
    client.force_login(alice)
    return client


def upload_through_the_form(web, visibility="public"):
    return web.post(
        "/o/acme/plugins/new/",
        {
            "manifest": SimpleUploadedFile(
                "ai-plugin.json", (DEMO / "todo-manifest.json").read_bytes()
            ),
            "openapi": SimpleUploadedFile(
                "openapi.yaml", (DEMO / "todo-openapi.yaml").read_bytes()
            ),
            "origin": "todo.demo.example",
            "visibility": visibility,
        },
    )


def submit_validated_upload(web, user):
    """Upload the demo plugin, validate it, submit it for review; make `user` an operator."""
    upload_through_the_form(web)
    run = ValidationRun.objects.get()
    execute_run(run.pk)
    plugin = run.version.plugin
    web.post(f"/o/acme/plugins/{plugin.pk}/versions/{run.version_id}/submit/")
    user.is_staff = user.is_superuser = True
    user.save()
    return run, plugin


def test_it_registers_by_upload_and_shows_live_progress(alice_web):
    response = upload_through_the_form(alice_web)

    run = ValidationRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/o/acme/validation-runs/{run.pk}/"
    page = alice_web.get(response["Location"]).content.decode()
    assert "Queued" in page
    assert 'hx-trigger="every 1s"' in page

    execute_run(run.pk)
    partial = alice_web.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial
    assert "Passed" in partial  # the verdict is in ...
    assert '<li class="current">Checking links</li>' in partial  # ... the links are not yet
    assert "still being checked" in partial
    assert 'hx-trigger="every 1s"' in partial

    check_run_links(run.pk)
    partial = alice_web.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert '<li class="done">Checking links</li>' in partial
    assert "still being checked" not in partial
    assert "hx-trigger" not in partial  # polling stops once the run and its links are done


def test_it_refuses_a_form_with_both_url_and_files(alice_web):
    response = alice_web.post(
        "/o/acme/plugins/new/",
        {
            "url": "https://example.com",
            "openapi": SimpleUploadedFile("openapi.json", b"{}"),
            "visibility": "private",
        },
    )
    assert response.status_code == 200
    assert "either a URL or uploaded documents" in response.content.decode()
    assert not Plugin.objects.exists()


def test_it_shows_the_report_grouped_by_severity(alice_web):
    alice_web.post(
        "/o/acme/plugins/new/",
        {
            "openapi": SimpleUploadedFile("openapi.json", b'{"openapi": "3.0.0", "paths": {}}'),
            "origin": "",
            "visibility": "private",
        },
    )
    run = ValidationRun.objects.get()
    execute_run(run.pk)

    page = alice_web.get(f"/o/acme/plugins/{run.version.plugin_id}/versions/{run.version_id}/")

    text = page.content.decode()
    assert page.status_code == 200
    assert "Errors (" in text
    assert run.findings.filter(severity="error").first().code in text


def test_it_publishes_after_submission_and_operator_approval(alice_web, alice, client):
    upload_through_the_form(alice_web)
    run = ValidationRun.objects.get()
    execute_run(run.pk)
    plugin = run.version.plugin

    alice_web.post(f"/o/acme/plugins/{plugin.pk}/versions/{run.version_id}/submit/")
    plugin.refresh_from_db()
    assert plugin.review_state == ReviewState.PENDING
    assert alice_web.get("/plugins/").content.decode().count(plugin.name) == 0

    alice.is_staff = alice.is_superuser = True
    alice.save()
    queue = alice_web.get("/admin/plugins/pluginawaitingreview/")
    assert plugin.name in queue.content.decode()
    alice_web.post(f"/admin/plugins/plugin/{plugin.pk}/review/", {"decision": "approve"})
    plugin.refresh_from_db()
    assert plugin.review_state == ReviewState.APPROVED
    assert plugin.published_version_id == run.version_id

    client.logout()
    storefront = client.get("/plugins/?q=todo").content.decode()
    assert plugin.name in storefront
    detail = client.get(f"/plugins/{plugin.public_id}/").content.decode()
    assert "getTodos" in detail


def test_an_operator_rejects_with_a_reason(alice_web, alice):
    _, plugin = submit_validated_upload(alice_web, alice)

    alice_web.post(
        f"/admin/plugins/plugin/{plugin.pk}/review/",
        {"decision": "reject", "reason": "The legal page is empty."},
    )

    plugin.refresh_from_db()
    assert plugin.review_state == ReviewState.REJECTED
    assert "legal page is empty" in alice_web.get(f"/o/acme/plugins/{plugin.pk}/").content.decode()


def test_a_member_cannot_register(client, bob, acme):
    client.force_login(bob)
    assert Membership.objects.get(user=bob, organization=acme).role == Role.MEMBER
    assert client.get("/o/acme/plugins/new/").status_code == 403


def test_it_registers_by_url_through_the_form(alice_web, plugin_server):
    from tests.support.plugins import serve_todo_plugin

    serve_todo_plugin(plugin_server)
    response = alice_web.post(
        "/o/acme/plugins/new/", {"url": plugin_server.url("/"), "visibility": "private"}
    )

    run = ValidationRun.objects.get()
    assert response["Location"] == f"/o/acme/validation-runs/{run.pk}/"
    execute_run(run.pk)
    page = alice_web.get(f"/o/acme/plugins/{run.version.plugin_id}/").content.decode()
    assert "TODO List" in page
    assert "v1" in page


def test_it_shows_an_ssrf_url_as_a_form_error(alice_web):
    response = alice_web.post(
        "/o/acme/plugins/new/", {"url": "http://169.254.169.254/", "visibility": "private"}
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not ValidationRun.objects.exists()


def test_publishing_decisions_are_audit_events(alice_web, alice):
    from accounts.models import AuditEvent

    _, plugin = submit_validated_upload(alice_web, alice)
    alice_web.post(f"/admin/plugins/plugin/{plugin.pk}/review/", {"decision": "approve"})

    trail = list(
        AuditEvent.objects.filter(organization=plugin.organization)
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert trail[-3:] == [
        "plugin.version_registered",
        "plugin.submitted_for_review",
        "plugin.approved",
    ]


def test_the_storefront_serves_a_verified_logo_from_its_own_origin(
    acme, alice, client, plugin_server
):
    from plugins.models import Plugin
    from tests.support.plugins import register_and_validate, serve_todo_plugin

    serve_todo_plugin(plugin_server)
    run = register_and_validate(acme, alice, plugin_server.url("/"), "public")
    plugin = Plugin.objects.get(pk=run.version.plugin_id)
    from plugins import review

    review.submit_for_review(plugin=plugin, version=run.version, submitted_by=alice)
    review.approve_plugin(plugin=plugin, reviewer=alice)
    requests_before = len(plugin_server.requests)

    card = client.get("/plugins/").content.decode()
    logo = client.get(f"/plugins/{plugin.public_id}/logo")

    assert f'src="/plugins/{plugin.public_id}/logo"' in card
    assert plugin_server.url("/logo.png") not in card
    assert logo.status_code == 200
    assert logo["Content-Type"] == "image/png"
    assert logo.content.startswith(b"\x89PNG")
    assert "sandbox" in logo["Content-Security-Policy"]
    assert len(plugin_server.requests) == requests_before  # served from the stored copy


def test_an_svg_logo_is_reported_and_never_served(acme, alice, client, plugin_server):
    from plugins import review
    from plugins.models import Plugin
    from tests.support.plugin_server import Response
    from tests.support.plugins import finding_codes, register_and_validate, serve_todo_plugin

    serve_todo_plugin(plugin_server)
    plugin_server.route(
        "/logo.png",
        Response(
            '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            content_type="image/svg+xml",
        ),
    )
    run = register_and_validate(acme, alice, plugin_server.url("/"), "public")
    plugin = Plugin.objects.get(pk=run.version.plugin_id)
    review.submit_for_review(plugin=plugin, version=run.version, submitted_by=alice)
    review.approve_plugin(plugin=plugin, reviewer=alice)

    assert "links.logo.unsupported_format" in finding_codes(run)
    assert client.get(f"/plugins/{plugin.public_id}/logo").status_code == 404
