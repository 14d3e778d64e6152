"""`manage.py seed_demo` (make run): the demo plugins are installed in Acme and served by the
demo plugin server, so the installed-plugin API lists them and calls work; running it again
changes nothing."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest
import uvicorn
from django.core.management import call_command
from django.test import Client

from accounts.models import AuditEvent, CredentialKind, Organization, User
from accounts.services import issue_credential
from marketplace.demo_plugin import app
from plugins.credentials.models import UserCredential
from plugins.installations.models import AllowList, Installation
from plugins.models import Plugin, PluginVersion
from tests.support.loopback import free_test_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_server(settings):
    """The demo plugin server on a free port of the development range, as Procfile runs it."""
    settings.DEMO_PLUGIN_PORT = free_test_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=settings.DEMO_PLUGIN_PORT, lifespan="off", log_level="error"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{settings.DEMO_PLUGIN_PORT}"
    server.should_exit = True
    thread.join(5)


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (
            User,
            Organization,
            Plugin,
            PluginVersion,
            Installation,
            AllowList,
            UserCredential,
            AuditEvent,
        )
    }


def call(client, installation, operation, arguments):
    return client.post(
        f"/api/v1/installations/{installation.pk}/operations/{operation}/call",
        data=json.dumps({"arguments": arguments}),
        content_type="application/json",
    )


def test_the_demo_plugins_are_installed_and_callable_and_seeding_again_changes_nothing(
    demo_server,
):
    seed()
    acme = Organization.objects.get(slug="acme")
    installations = {
        i.plugin.name_for_model: i for i in Installation.objects.filter(organization=acme)
    }
    assert set(installations) == {"todo", "Acme_Data_Query"}
    for installation in installations.values():
        assert installation.version.normalized["server_url"] == demo_server
        assert installation.pinned_sha256 == installation.version.content_sha256
    data = installations["Acme_Data_Query"]
    assert data.guarded_arguments == {"database": "database"}
    assert data.default_allowed == {"database": ["hr", "sales"]}

    before = counts()
    seed()
    assert counts() == before

    bob = User.objects.get(email="bob@acme.demo.example")
    _, token = issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="demo", created_by=bob, user=bob
    )
    client = Client(headers={"Authorization": f"Bearer {token}"})
    listed = client.get("/api/v1/installed-plugins/").json()
    assert {entry["name_for_model"] for entry in listed} == {"todo", "Acme_Data_Query"}
    assert all(entry["operations"] and not entry["unavailable"] for entry in listed)

    todo = installations["todo"]
    added = call(client, todo, "addTodo", {"username": "bob", "todo": "buy milk"})
    assert added.status_code == 200, added.content
    listed = call(client, todo, "getTodos", {"username": "bob"}).json()
    assert listed["data"] == {"todos": ["buy milk"]}
    sales = call(client, data, "querySqlDatabase", {"database": "sales", "question": "orders?"})
    assert sales.status_code == 200, sales.content
    assert sales.json()["data"]["source"] == "sales"
    hr = call(client, data, "querySqlDatabase", {"database": "hr", "question": "orders?"})
    assert hr.status_code == 403  # bob's own allow-list: sales only
