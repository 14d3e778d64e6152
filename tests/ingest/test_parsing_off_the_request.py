"""Untrusted documents are parsed only in the worker, and never inside a database transaction
(a slow parse there would hold locks other organizations wait on; on SQLite, every write).

A spy around the one document parser records where each parse happened; it changes nothing.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from plugins.ingest.run import execute_run
from plugins.models import Plugin, RunStatus, ValidationRun
from plugins.validation import identity, parsing
from tests.ingest.test_hostile_uploads import MERGE_BOMB
from tests.support.plugins import DEMO_DIR, serve_todo_plugin, submit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def parses(monkeypatch):
    """Each parse_document call, as True when it ran inside a transaction."""
    seen: list[bool] = []
    real = parsing.parse_document

    def spy(*args, **kwargs):
        seen.append(connection.in_atomic_block)
        return real(*args, **kwargs)

    monkeypatch.setattr(parsing, "parse_document", spy)
    monkeypatch.setattr(identity, "parse_document", spy)
    return seen


def upload(client, **files):
    return client.post(
        "/api/v1/plugins/",
        {
            **{name: SimpleUploadedFile(name, content) for name, content in files.items()},
            "origin": "todo.demo.example",
        },
    )


def test_an_upload_request_parses_nothing_and_the_worker_parses_outside_transactions(
    alice_api, parses
):
    response = upload(
        alice_api,
        manifest=(DEMO_DIR / "todo-manifest.json").read_bytes(),
        openapi=(DEMO_DIR / "todo-openapi.yaml").read_bytes(),
    )

    assert response.status_code == 202
    assert parses == []  # the web request only stored the bytes

    execute_run(response.json()["validation"]["id"])

    assert parses  # the worker did the reading…
    assert not any(parses)  # …never inside a transaction


def test_a_pathological_upload_is_answered_at_once_and_refused_by_the_worker(alice_api, parses):
    response = upload(alice_api, openapi=MERGE_BOMB)

    assert response.status_code == 202
    assert parses == []
    run_id = response.json()["validation"]["id"]
    execute_run(run_id)
    run = ValidationRun.objects.get(pk=run_id)
    assert run.status == RunStatus.FAILED
    assert "document.yaml_bomb" in set(run.findings.values_list("code", flat=True))
    assert not any(parses)


def test_a_fetched_document_is_identified_outside_the_transaction_that_records_it(
    plugin_server, acme, alice, parses
):
    serve_todo_plugin(plugin_server)
    run = submit(acme, alice, plugin_server.url("/"))

    execute_run(run.pk)

    run.refresh_from_db()
    assert run.status == RunStatus.PASSED
    assert parses
    assert not any(parses)


def test_an_upload_joins_its_plugin_once_the_worker_has_read_it(alice_api, acme, alice):
    first = upload(
        alice_api,
        manifest=(DEMO_DIR / "todo-manifest.json").read_bytes(),
        openapi=(DEMO_DIR / "todo-openapi.yaml").read_bytes(),
    ).json()
    execute_run(first["validation"]["id"])
    changed = (DEMO_DIR / "todo-openapi.yaml").read_bytes() + b"\n# second version\n"
    second = upload(
        alice_api, manifest=(DEMO_DIR / "todo-manifest.json").read_bytes(), openapi=changed
    ).json()
    assert second["created"] is True

    execute_run(second["validation"]["id"])

    run = ValidationRun.objects.select_related("version").get(pk=second["validation"]["id"])
    assert run.version.plugin_id == first["id"]
    assert run.version.number == 2
    assert Plugin.objects.filter(organization=acme).count() == 1  # the provisional one is gone
