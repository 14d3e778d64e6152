"""The plugins REST API, as scripted clients use it."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from plugins import review
from plugins.ingest.run import execute_run
from plugins.models import Plugin, ValidationRun
from plugins.registration import register_plugin_by_upload
from tests.support.plugins import DEMO_DIR, serve_todo_plugin, upload_demo_todo

pytestmark = pytest.mark.django_db
DEMO = DEMO_DIR


def upload_todo(org, user, visibility="private"):
    submission = upload_demo_todo(org, user, visibility=visibility)
    execute_run(submission.run.pk)
    return submission


def publish(submission, operator):
    plugin = Plugin.objects.get(pk=submission.plugin.pk)
    review.submit_for_review(plugin=plugin, version=submission.version, submitted_by=operator)
    review.approve_plugin(plugin=plugin, reviewer=operator)


def test_it_accepts_a_url_and_answers_202_with_the_run(alice_api, plugin_server):
    serve_todo_plugin(plugin_server)

    response = alice_api.post(
        "/api/v1/plugins/",
        {"url": plugin_server.url("/"), "visibility": "public"},
        content_type="application/json",
    )

    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"id", "created", "version", "validation"}
    assert body["validation"]["status"] == "queued"
    assert body["validation"]["url"].endswith(
        f"/api/v1/validation-runs/{body['validation']['id']}/"
    )
    assert Plugin.objects.get(pk=body["id"]).visibility == "public"


def test_it_accepts_an_upload(alice_api):
    response = alice_api.post(
        "/api/v1/plugins/",
        {
            "manifest": SimpleUploadedFile(
                "ai-plugin.json", (DEMO / "todo-manifest.json").read_bytes()
            ),
            "openapi": SimpleUploadedFile(
                "openapi.yaml", (DEMO / "todo-openapi.yaml").read_bytes()
            ),
            "origin": "todo.demo.example",
            "visibility": "private",
        },
    )

    assert response.status_code == 202
    body = response.json()
    assert body["version"]["number"] is None  # numbered once the worker has read it
    execute_run(body["validation"]["id"])
    run = alice_api.get(f"/api/v1/validation-runs/{body['validation']['id']}/").json()
    assert (run["status"], run["version"]["number"]) == ("passed", 1)


def test_it_reports_a_run_with_its_findings(alice_api, acme, alice):
    submission = upload_todo(acme, alice)

    response = alice_api.get(f"/api/v1/validation-runs/{submission.run.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "passed"
    assert body["stage"] == "done"
    for finding in body["findings"]:
        assert set(finding) == {"severity", "code", "document", "pointer", "message", "hint"}


def test_it_refuses_an_ssrf_url_with_a_specific_code(alice_api):
    response = alice_api.post(
        "/api/v1/plugins/", {"url": "http://169.254.169.254/"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "outbound.address_blocked"
    assert not ValidationRun.objects.exists()


def test_it_refuses_a_member_below_developer(api_as, acme, bob):
    response = api_as(bob, acme).post(
        "/api/v1/plugins/", {"url": "https://example.com"}, content_type="application/json"
    )
    assert response.status_code == 403


def test_it_lists_published_plugins_and_the_callers_own(
    alice_api, charlie_api, acme, alice, globex, charlie
):
    published = upload_todo(globex, charlie, visibility="public")
    publish(published, charlie)
    own_private = upload_todo(acme, alice)

    names = {p["id"] for p in alice_api.get("/api/v1/plugins/").json()}
    assert names == {published.plugin.pk, own_private.plugin.pk}
    assert [p["id"] for p in charlie_api.get("/api/v1/plugins/").json()] == [published.plugin.pk]
    assert alice_api.get("/api/v1/plugins/?q=nothing-like-this").json() == []


def test_it_hides_another_organizations_unpublished_plugin(charlie_api, acme, alice):
    private = upload_todo(acme, alice)

    for path in (
        f"/api/v1/plugins/{private.plugin.pk}/",
        f"/api/v1/plugins/{private.plugin.pk}/versions/",
        f"/api/v1/validation-runs/{private.run.pk}/",
    ):
        response = charlie_api.get(path)
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_it_shows_only_the_published_version_to_others(alice_api, charlie_api, globex, charlie):
    published = upload_todo(globex, charlie, visibility="public")
    publish(published, charlie)

    versions = alice_api.get(f"/api/v1/plugins/{published.plugin.pk}/versions/").json()

    assert [v["id"] for v in versions] == [published.version.pk]
    detail = alice_api.get(f"/api/v1/plugins/{published.plugin.pk}/").json()
    assert detail["published_version"]["operations"] == ["getTodos", "addTodo"]


def test_it_documents_the_plugin_endpoints_in_the_schema(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert {
        "/api/v1/plugins/",
        "/api/v1/plugins/{plugin_id}/",
        "/api/v1/plugins/{plugin_id}/versions/",
        "/api/v1/validation-runs/{run_id}/",
    } <= set(schema["paths"])


def test_an_unlisted_plugin_is_reachable_only_through_its_link(
    alice_api, charlie_api, globex, charlie, client
):
    unlisted = upload_todo(globex, charlie, visibility="unlisted")
    publish(unlisted, charlie)
    public_url = charlie_api.get(f"/api/v1/plugins/{unlisted.plugin.pk}/").json()["public_url"]
    plugin = Plugin.objects.get(pk=unlisted.plugin.pk)

    assert public_url.endswith(f"/plugins/{plugin.public_id}/")
    assert len(plugin.public_id) >= 16
    assert client.get(public_url).status_code == 200
    assert plugin.name not in client.get("/plugins/").content.decode()
    assert alice_api.get(f"/api/v1/plugins/{plugin.pk}/").status_code == 404
    assert plugin.pk not in {p["id"] for p in alice_api.get("/api/v1/plugins/").json()}
    assert client.get(f"/plugins/{plugin.pk}/").status_code == 404


def test_a_private_plugin_has_no_public_page(alice_api, acme, alice, client):
    private = upload_todo(acme, alice)
    plugin = Plugin.objects.get(pk=private.plugin.pk)

    assert alice_api.get(f"/api/v1/plugins/{plugin.pk}/").json()["public_url"] is None
    assert client.get(f"/plugins/{plugin.public_id}/").status_code == 404


def test_it_pages_the_list_with_link_headers(alice_api, acme, alice):
    for n in range(5):
        Plugin.objects.create(organization=acme, slug=f"p{n}", name=f"Plugin {n}")

    first = alice_api.get("/api/v1/plugins/?limit=2")
    last = alice_api.get("/api/v1/plugins/?limit=2&offset=4")

    assert [p["name"] for p in first.json()] == ["Plugin 0", "Plugin 1"]
    assert first["X-Total-Count"] == "5"
    assert 'offset=2>; rel="next"' in first["Link"]
    assert "prev" not in first["Link"]
    assert [p["name"] for p in last.json()] == ["Plugin 4"]
    assert 'rel="prev"' in last["Link"]
    assert "next" not in last["Link"]
    assert len(alice_api.get("/api/v1/plugins/?limit=200").json()) == 5


@pytest.mark.parametrize(
    "query",
    [
        "offset=9223372036854775808",
        "offset=null",
        "offset=-1",
        "offset=%2B1",
        "offset=1.5",
        "offset=1000001",
        "limit=0",
        "limit=201",
        "limit=100000",
        "limit=",
    ],
)
def test_it_answers_400_to_a_page_parameter_out_of_bounds(alice_api, query):
    response = alice_api.get(f"/api/v1/plugins/?{query}")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {query.split("=")[0]}


def test_a_new_openplugin_document_joins_its_plugin_whatever_its_name_spelling(acme, alice):
    def openplugin(version: str) -> bytes:
        return json.dumps(
            {
                "openapi": "3.0.0",
                "info": {"title": "t", "version": version},
                "servers": [{"url": "https://api.example.com"}],
                "x-openplugin": {"name": "Acme  Data-Query", "description": "Data."},
                "paths": {
                    "/q": {
                        "get": {"operationId": "query", "responses": {"200": {"description": "ok"}}}
                    }
                },
            }
        ).encode()

    first = register_plugin_by_upload(
        organization=acme,
        manifest=None,
        openapi=openplugin("1"),
        origin="api.example.com",
        visibility="private",
        submitted_by=alice,
    )
    execute_run(first.run.pk)
    second = register_plugin_by_upload(
        organization=acme,
        manifest=None,
        openapi=openplugin("2"),
        origin="api.example.com",
        visibility="private",
        submitted_by=alice,
    )
    execute_run(second.run.pk)
    second.run.refresh_from_db()

    assert second.run.version.plugin_id == first.plugin.pk
    assert second.run.version.number == 2
    assert Plugin.objects.get(pk=first.plugin.pk).name_for_model == "Acme_Data_Query"
