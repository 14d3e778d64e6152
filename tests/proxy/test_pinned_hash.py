"""An installation is pinned to one approved version by its content hash: when the version row's
stored documents (or its hash) change after the pin, the proxy, the passthrough and the lookup
API serve nothing from it, say why, and record it. PostgreSQL keeps the documents' digest itself
(a generated column), so the check hashes nothing in Python and catches a row changed by hand."""

from __future__ import annotations

import copy
import hashlib
import html
import importlib
import json
from types import SimpleNamespace

import psycopg
import pytest
from django.apps import apps
from django.db import ProgrammingError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from plugins.installations import selectors
from plugins.installations.integrity import PIN_MISMATCH, documents_digest, pin_problem
from plugins.installations.models import CallEvent, Installation
from plugins.installations.services import install_plugin, update_installation
from plugins.models import PluginVersion
from plugins.proxy.context import contexts
from plugins.proxy.events import drain_call_events
from tests.proxy.conftest import call, publish_version
from tests.support.upstream import Upstream
from tests.tools.specs import data_plugin_spec

QUERY = {"database": "sales", "question": "how many?"}


def tamper(version: PluginVersion, **fields) -> None:
    """Change the stored row behind everyone's back, as a bad migration or a rogue writer
    would. What this process cached of the version stays cached."""
    PluginVersion.objects.filter(pk=version.pk).update(**fields)


def tamper_by_hand(version: PluginVersion, sql: str) -> None:
    """Change the stored row with raw SQL (`SET …` on plugins_pluginversion), past the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE plugins_pluginversion SET {sql} WHERE id = %s", [version.pk])


def database_digest(version: PluginVersion) -> str:
    """The SHA-256 of the documents as PostgreSQL writes them out, recomputed here."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT normalized::text, normalized_openapi::text FROM plugins_pluginversion"
            " WHERE id = %s",
            [version.pk],
        )
        normalized, openapi = cursor.fetchone()
    return hashlib.sha256(f"{normalized}\n{openapi}".encode()).hexdigest()


def redirected(version: PluginVersion, server_url: str) -> dict:
    normalized = copy.deepcopy(PluginVersion.objects.get(pk=version.pk).normalized)
    normalized["server_url"] = server_url
    return normalized


def test_install_and_repin_record_the_versions_hash_and_documents(data_install, acme, alice):
    version = data_install.version
    stored = PluginVersion.objects.get(pk=version.pk)
    data_install.refresh_from_db()
    assert data_install.pinned_sha256 == version.content_sha256
    assert data_install.documents_sha256 == stored.documents_sha256 == database_digest(version)
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
    assert data_install.documents_sha256 == database_digest(newer)
    assert data_install.documents_sha256 != stored.documents_sha256


def test_the_database_keeps_the_digest_whoever_writes_the_documents(data_install):
    version = data_install.version
    before = PluginVersion.objects.get(pk=version.pk).documents_sha256
    tamper_by_hand(
        version, "normalized = jsonb_set(normalized, '{server_url}', '\"http://x.test\"')"
    )
    after = PluginVersion.objects.get(pk=version.pk).documents_sha256
    assert after != before
    assert after == database_digest(version)
    with pytest.raises(ProgrammingError, match="generated") as refused, transaction.atomic():
        tamper_by_hand(version, f"documents_sha256 = '{before}'")
    assert isinstance(refused.value.__cause__, psycopg.errors.GeneratedAlways)
    assert PluginVersion.objects.get(pk=version.pk).documents_sha256 == after


def test_a_version_saved_with_other_documents_reads_the_new_digest(acme, upstream):
    version = publish_version(acme, data_plugin_spec(upstream.url), base=upstream.url)
    assert version.documents_sha256 == database_digest(version)
    PluginVersion.objects.filter(pk=version.pk).update(validated_at=None)
    version.validated_at = None
    version.normalized = {**version.normalized, "description_for_model": "Other."}
    before = version.documents_sha256
    version.save()
    assert version.documents_sha256 == database_digest(version) != before


def test_the_check_reads_no_documents(data_install, acme):
    """The query that loads an installation also checks its pin: checking needs neither the
    documents nor another query, even when the documents were deferred."""
    (installation,) = selectors.installations_for_lookup(organization=acme)
    with CaptureQueriesContext(connection) as queries:
        assert pin_problem(installation) is None
    assert len(queries) == 0
    tamper_by_hand(data_install.version, "normalized_openapi = '{}'::jsonb")
    (installation,) = selectors.installations_for_lookup(organization=acme)
    with CaptureQueriesContext(connection) as queries:
        assert pin_problem(installation) == PIN_MISMATCH
    assert not [q for q in queries if "normalized" in q["sql"]]


def test_documents_changed_by_hand_behind_warm_caches_are_refused_everywhere(
    data_install, bob_api, upstream
):
    """Every cache warm (tools, call context), then the row is changed with raw SQL: the next
    context load, lookup, served spec and passthrough request refuse it, and nothing goes out."""
    assert call(bob_api, data_install, "listTables", {}).status_code == 200
    assert bob_api.get("/api/v1/installed-plugins/").json()[0]["version"]["verified"] is True
    spec = f"/api/v1/installed-plugins/{data_install.pk}/openapi"
    assert bob_api.get(spec).status_code == 200
    passthrough = f"/api/v1/installations/{data_install.pk}/passthrough/databases"
    assert bob_api.get(passthrough).status_code == 200
    served = upstream.connections
    with Upstream() as elsewhere:
        server_url = json.dumps(elsewhere.url)
        tamper_by_hand(
            data_install.version,
            f"normalized = jsonb_set(normalized, '{{server_url}}', '{server_url}')",
        )
        contexts.clear()  # the call context's few seconds are up
        response = call(bob_api, data_install, "querySqlDatabase", QUERY)
        assert response.status_code == 409
        assert response.json()["error"] == {"code": "proxy.pin_mismatch", "message": PIN_MISMATCH}
        (entry,) = bob_api.get("/api/v1/installed-plugins/").json()
        assert (entry["version"]["verified"], entry["tools"]) == (False, [])
        assert bob_api.get(spec).json()["error"]["code"] == "proxy.pin_mismatch"
        response = bob_api.get(passthrough)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "proxy.pin_mismatch"
    assert elsewhere.connections == 0
    assert upstream.connections == served


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


def test_the_migration_moves_intact_pins_to_the_database_digest_and_back(
    data_install, acme, alice, upstream
):
    """Pins made before the database kept a digest are the Python digest: the migration moves
    each one whose documents still match to the database's digest, and leaves a pin whose
    documents changed as it is (still refused); reversed, the other way round."""
    migration = importlib.import_module(
        "plugins.installations.migrations.0006_pin_to_database_digest"
    )
    editor = SimpleNamespace(connection=connection)
    other = publish_version(acme, data_plugin_spec(upstream.url), base=upstream.url, name="data2")
    changed = install_plugin(organization=acme, version=other, installed_by=alice)
    for installation in (data_install, changed):
        stored = PluginVersion.objects.get(pk=installation.version_id)
        old_pin = documents_digest(stored.normalized, stored.normalized_openapi)
        Installation.objects.filter(pk=installation.pk).update(documents_sha256=old_pin)
    tamper(other, normalized_openapi={"openapi": "3.0.3", "paths": {}})
    tampered_pin = Installation.objects.get(pk=changed.pk).documents_sha256

    migration.repin_to_database_digest(apps, editor)
    data_install.refresh_from_db()
    changed.refresh_from_db()
    assert data_install.documents_sha256 == database_digest(data_install.version)
    assert changed.documents_sha256 == tampered_pin
    assert (
        pin_problem(selectors.installation_of(organization=acme, installation_id=data_install.pk))
        is None
    )
    assert pin_problem(selectors.installation_of(organization=acme, installation_id=changed.pk))

    migration.repin_to_python_digest(apps, editor)
    data_install.refresh_from_db()
    stored = PluginVersion.objects.get(pk=data_install.version_id)
    assert data_install.documents_sha256 == documents_digest(
        stored.normalized, stored.normalized_openapi
    )
    assert Installation.objects.get(pk=changed.pk).documents_sha256 == tampered_pin


def test_the_console_says_why_nothing_is_served(data_install, web_as, alice):
    tamper(data_install.version, content_sha256="f" * 64)
    page = web_as(alice).get(f"/o/acme/installations/{data_install.pk}/").content.decode()
    assert html.escape(PIN_MISMATCH) in page
