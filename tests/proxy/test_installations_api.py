"""The installations REST API: install, read, pin/upgrade, operations on/off, guarded arguments,
allow-lists per member with a default for members, uninstall."""

from __future__ import annotations

import copy

from accounts.models import AuditEvent
from plugins.installations.models import Installation
from plugins.models import PluginVersion
from tests.proxy.conftest import call, publish_version
from tests.tools.specs import data_plugin_spec

URL = "/api/v1/installations/"


def test_an_admin_installs_a_published_plugin_pinned_to_its_version(
    alice_api, acme, globex, charlie, upstream
):
    version = publish_version(globex, data_plugin_spec(upstream.url), base=upstream.url)
    response = alice_api.post(URL, {"plugin": version.plugin_id}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version"] == {
        "id": version.pk,
        "number": 1,
        "content_sha256": version.content_sha256,
    }
    ops = {o["operation"]: o for o in body["operations"]}
    assert ops["querySqlDatabase"]["guarded"] == {"database": "database"}
    assert ops["listTables"]["enabled"] is True
    assert Installation.objects.get(pk=body["id"]).organization == acme
    assert AuditEvent.objects.filter(action="plugin.installed", organization=acme).exists()


def test_members_read_but_cannot_install(bob_api, acme, upstream, data_install):
    assert bob_api.get(URL).json()[0]["id"] == data_install.pk
    response = bob_api.post(
        URL, {"plugin": data_install.plugin_id}, content_type="application/json"
    )
    assert response.status_code == 403


def test_a_private_plugin_of_another_organization_is_404(alice_api, globex, upstream):
    version = publish_version(globex, data_plugin_spec(upstream.url), base=upstream.url)
    version.plugin.visibility = "private"
    version.plugin.save()
    response = alice_api.post(URL, {"plugin": version.plugin_id}, content_type="application/json")
    assert response.status_code == 404


def test_an_admin_upgrades_the_pin_and_calls_use_the_new_versions_spec(
    alice_api, bob_api, data_install, upstream
):
    spec = copy.deepcopy(data_plugin_spec(upstream.url))
    spec["paths"]["/databases"]["get"]["operationId"] = "listAllTables"
    old = data_install.version
    report_version = publish_version(data_install.organization, spec, base=upstream.url, name="v2")
    newer = PluginVersion.objects.create(
        organization=old.organization,
        plugin=old.plugin,
        number=2,
        source_kind="upload",
        content_sha256="b" * 64,
        normalized=report_version.normalized,
        normalized_openapi=report_version.normalized_openapi,
        validation_state="passed",
        validated_at=report_version.validated_at,
    )
    response = alice_api.patch(
        f"{URL}{data_install.pk}", {"version": newer.pk}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["version"]["number"] == 2
    assert call(bob_api, data_install, "listTables", {}).status_code == 404
    assert call(bob_api, data_install, "listAllTables", {}).status_code == 200


def test_an_admin_turns_operations_off_and_marks_guarded_arguments(
    alice_api, bob_api, data_install, upstream
):
    response = alice_api.patch(
        f"{URL}{data_install.pk}",
        {
            "disabled_operations": {"listTables": "Under maintenance"},
            "guarded_arguments": {"question": "topic"},
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    ops = {o["operation"]: o for o in response.json()["operations"]}
    assert ops["listTables"] == {
        "operation": "listTables",
        "enabled": False,
        "reason": "Under maintenance",
        "guarded": {},
    }
    assert ops["queryCosmosDb"]["guarded"] == {"container": "container", "question": "topic"}
    # bob has no `question` values: the question-taking operations are now refused
    denied = call(
        bob_api, data_install, "querySqlDatabase", {"database": "sales", "question": "hmm"}
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["parameter"] == "question"
    assert upstream.connections == 0


def test_allow_lists_per_member_by_id_or_email_with_a_default_for_members(
    alice_api, bob_api, data_install, bob, alice
):
    path = f"{URL}{data_install.pk}/allow-lists/"
    put = alice_api.put(
        f"{path}{bob.pk}", {"database": ["finance", "sales"]}, content_type="application/json"
    )
    assert put.status_code == 200
    assert put.json() == {
        "member": "bob@example.com",
        "values": {"database": ["finance", "sales"]},
        "is_default": False,
    }
    assert alice_api.get(f"{path}bob@example.com").json()["values"] == {
        "database": ["finance", "sales"]
    }
    # alice has no list of her own: she gets the default for members
    alice_api.patch(
        f"{URL}{data_install.pk}",
        {"default_allowed": {"database": ["public"]}},
        content_type="application/json",
    )
    mine = alice_api.get(f"{path}alice@example.com").json()
    assert mine == {
        "member": "alice@example.com",
        "values": {"database": ["public"]},
        "is_default": True,
    }
    assert bob_api.get(f"{path}{bob.pk}").status_code == 403
    assert alice_api.get(f"{path}charlie@example.com").status_code == 404
    bad = alice_api.put(f"{path}{bob.pk}", {"database": "sales"}, content_type="application/json")
    assert bad.status_code == 400
    # the fixture's list, then this one: one audit event each, the refused PUT none
    assert AuditEvent.objects.filter(action="installation.allow_list_changed").count() == 2


def test_an_admin_uninstalls(alice_api, bob_api, data_install):
    assert alice_api.delete(f"{URL}{data_install.pk}").status_code == 204
    assert not Installation.objects.filter(pk=data_install.pk).exists()
    assert call(bob_api, data_install, "listTables", {}).status_code == 404


def test_an_allow_list_or_a_guard_naming_an_unknown_parameter_is_a_400_naming_it(
    alice_api, data_install, bob
):
    """An admin's typo ("databse") would otherwise be stored and leave the member silently
    denied: it is refused, naming the name and what is guarded."""
    path = f"{URL}{data_install.pk}/allow-lists/{bob.pk}"
    before = alice_api.get(path).json()["values"]
    typo = alice_api.put(path, {"databse": ["sales"]}, content_type="application/json")
    assert typo.status_code == 400
    message = str(typo.json()["error"])
    assert "'databse' is not a guarded parameter" in message
    assert "database" in message
    assert alice_api.get(path).json()["values"] == before
    default = alice_api.patch(
        f"{URL}{data_install.pk}",
        {"default_allowed": {"databse": ["public"]}},
        content_type="application/json",
    )
    assert default.status_code == 400
    guard = alice_api.patch(
        f"{URL}{data_install.pk}",
        {"guarded_arguments": {"nosuchargument": "topic"}},
        content_type="application/json",
    )
    assert guard.status_code == 400
    assert "nosuchargument" in str(guard.json()["error"])
    # marking an argument guarded and allowing it in the same request is one consistent change
    both = alice_api.patch(
        f"{URL}{data_install.pk}",
        {"guarded_arguments": {"question": "topic"}, "default_allowed": {"question": ["hi"]}},
        content_type="application/json",
    )
    assert both.status_code == 200
