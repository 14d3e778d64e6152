"""An installation is pinned to one approved version by its content hash: when the version row's
stored documents (or its hash) change after the pin, the proxy, the passthrough and the lookup
API serve nothing from it, say why, and record it."""

from __future__ import annotations

import copy
import html
import importlib

from django.apps import apps

from accounts.models import AuditEvent
from plugins.installations import selectors
from plugins.installations.integrity import PIN_MISMATCH, documents_digest
from plugins.installations.models import CallEvent, Installation
from plugins.installations.services import update_installation
from plugins.models import PluginVersion
from plugins.proxy.events import drain_call_events
from tests.proxy.conftest import call, publish_version
from tests.support.upstream import Upstream
from tests.tools.specs import data_plugin_spec

QUERY = {"database": "sales", "question": "how many?"}


def tamper(version: PluginVersion, **fields) -> None:
    """Change the stored row behind everyone's back, as a bad migration or a rogue writer
    would, and forget what this process built from it (a fresh process)."""
    PluginVersion.objects.filter(pk=version.pk).update(**fields)
    selectors._TOOLSETS.clear()


def redirected(version: PluginVersion, server_url: str) -> dict:
    normalized = copy.deepcopy(PluginVersion.objects.get(pk=version.pk).normalized)
    normalized["server_url"] = server_url
    return normalized


def test_install_and_repin_record_the_versions_hash_and_documents(data_install, acme, alice):
    version = data_install.version
    stored = PluginVersion.objects.get(pk=version.pk)
    data_install.refresh_from_db()
    assert data_install.pinned_sha256 == version.content_sha256
    assert data_install.documents_sha256 == documents_digest(
        stored.normalized, stored.normalized_openapi
    )
    newer = PluginVersion.objects.create(
        organization=acme,
        plugin=version.plugin,
        number=2,
        source_kind="upload",
        content_sha256="c" * 64,
        normalized={**stored.normalized, "description_for_model": "Newer."},
        normalized_openapi=stored.normalized_openapi,
        validation_state="passed",
    )
    update_installation(installation=data_install, changed_by=alice, version=newer)
    data_install.refresh_from_db()
    assert data_install.pinned_sha256 == "c" * 64
    assert data_install.documents_sha256 != documents_digest(
        stored.normalized, stored.normalized_openapi
    )


def test_a_call_to_a_tampered_version_is_refused_before_anything_goes_out(
    data_install, bob_api, upstream
):
    with Upstream() as elsewhere:
        tamper(data_install.version, normalized=redirected(data_install.version, elsewhere.url))
        response = call(bob_api, data_install, "querySqlDatabase", QUERY)
    assert elsewhere.connections == 0
    assert response.status_code == 409
    assert response.json()["error"] == {"code": "proxy.pin_mismatch", "message": PIN_MISMATCH}
    assert upstream.connections == 0
    drain_call_events()
    event = CallEvent.objects.get()
    assert (event.decision, event.reason) == ("unavailable", "proxy.pin_mismatch")
    audit = AuditEvent.objects.filter(action="installation.pin_mismatch")
    assert audit.count() == 1
    assert audit.get().target == f"installation:{data_install.pk}"
    call(bob_api, data_install, "listTables", {})
    assert audit.count() == 1  # recorded once, not per call


def test_a_changed_content_hash_alone_is_refused(data_install, bob_api, upstream):
    tamper(data_install.version, content_sha256="d" * 64)
    assert call(bob_api, data_install, "listTables", {}).status_code == 409
    assert upstream.connections == 0


def test_the_passthrough_and_its_spec_refuse_a_tampered_version(data_install, bob_api, upstream):
    tamper(data_install.version, normalized_openapi={"openapi": "3.0.3", "paths": {}})
    spec = bob_api.get(f"/api/v1/installed-plugins/{data_install.pk}/openapi")
    assert spec.status_code == 409
    assert spec.json()["error"]["code"] == "proxy.pin_mismatch"
    response = bob_api.get(f"/api/v1/installations/{data_install.pk}/passthrough/databases")
    assert response.status_code == 409
    assert upstream.connections == 0


def test_the_lookup_api_offers_no_tools_from_a_tampered_version(data_install, bob_api):
    before = bob_api.get("/api/v1/installed-plugins/").json()[0]
    assert before["version"]["verified"] is True
    assert before["tools"]
    tamper(data_install.version, normalized=redirected(data_install.version, "http://x.test"))
    (entry,) = bob_api.get("/api/v1/installed-plugins/").json()
    assert entry["version"]["verified"] is False
    assert entry["tools"] == []
    assert entry["operations"] == []
    assert {u["reason"] for u in entry["unavailable"]} == {PIN_MISMATCH}
    assert len(entry["unavailable"]) == len(before["operations"])


def test_pinning_a_good_version_again_serves_it(data_install, acme, alice, bob_api, upstream):
    tamper(data_install.version, content_sha256="e" * 64)
    assert call(bob_api, data_install, "listTables", {}).status_code == 409
    good = publish_version(acme, data_plugin_spec(upstream.url), base=upstream.url, name="data2")
    PluginVersion.objects.filter(pk=good.pk).update(plugin=data_install.plugin, number=2)
    good.refresh_from_db()
    update_installation(installation=data_install, changed_by=alice, version=good)
    assert call(bob_api, data_install, "listTables", {}).status_code == 200


def test_the_migration_pins_existing_installations(data_install):
    Installation.objects.filter(pk=data_install.pk).update(pinned_sha256="", documents_sha256="")
    migration = importlib.import_module("plugins.installations.migrations.0005_pin_by_content_hash")
    migration.pin_existing(apps, None)
    data_install.refresh_from_db()
    stored = PluginVersion.objects.get(pk=data_install.version_id)
    assert data_install.pinned_sha256 == stored.content_sha256
    assert data_install.documents_sha256 == documents_digest(
        stored.normalized, stored.normalized_openapi
    )


def test_the_console_says_why_nothing_is_served(data_install, web_as, alice):
    tamper(data_install.version, content_sha256="f" * 64)
    page = web_as(alice).get(f"/o/acme/installations/{data_install.pk}/").content.decode()
    assert html.escape(PIN_MISMATCH) in page
