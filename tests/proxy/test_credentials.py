"""Credential injection by auth type, through the whole pipeline: the publisher's service key,
each member's own key. The keys are canaries: they reach the plugin and nothing else."""

from __future__ import annotations

import json
import logging

import pytest

from plugins.credentials.services import set_service_credential, set_user_credential
from plugins.installations.models import CallEvent
from plugins.installations.services import install_plugin, set_allow_list
from plugins.proxy.events import drain_call_events
from tests.proxy.conftest import call, publish_version
from tests.test_canary_secrets import redis_dump
from tests.tools.specs import data_plugin_spec

SERVICE_KEY = "svc-canary-proxy-1f2e3d4c5b6a"
USER_KEY = "usr-canary-proxy-a6b5c4d3e2f1"


def install(acme, alice, bob, upstream, auth: dict, name: str):
    version = publish_version(
        acme, data_plugin_spec(upstream.url), base=upstream.url, name=name, auth=auth
    )
    installation = install_plugin(organization=acme, version=version, installed_by=alice)
    set_allow_list(
        installation=installation, member=bob, values={"database": ["sales"]}, changed_by=alice
    )
    return installation


def test_the_service_key_reaches_the_plugin_and_nothing_else(
    acme, alice, bob, bob_api, upstream, caplog
):
    caplog.set_level(logging.DEBUG)
    installation = install(
        acme, alice, bob, upstream, {"type": "service_http", "authorization_type": "bearer"}, "svc"
    )
    set_service_credential(plugin=installation.plugin, token=SERVICE_KEY, set_by=alice)
    response = call(
        bob_api, installation, "querySqlDatabase", {"database": "sales", "question": "how many?"}
    )
    assert response.status_code == 200, response.content
    # the spec's apiKey security scheme names the header (it is never a tool argument)
    assert upstream.seen[0].headers["x-api-key"] == SERVICE_KEY
    assert "x-marketplace-assertion" in upstream.seen[0].headers
    lookup = bob_api.get("/api/v1/installed-plugins/")
    assert lookup.json()[0]["connection"] == {"state": "not_needed", "connect_url": None}
    redis_before_drain = redis_dump()
    drain_call_events()
    events = json.dumps(list(CallEvent.objects.values()), default=str)
    for place in (
        response.content.decode(),
        lookup.content.decode(),
        caplog.text,
        redis_before_drain,
        redis_dump(),
        events,
    ):
        assert SERVICE_KEY not in place


def test_no_service_key_is_a_clear_error_not_a_call(acme, alice, bob, bob_api, upstream):
    installation = install(
        acme, alice, bob, upstream, {"type": "service_http", "authorization_type": "bearer"}, "svc"
    )
    response = call(bob_api, installation, "listTables", {})
    assert response.status_code == 424
    assert response.json()["error"]["code"].startswith("credential.")
    assert upstream.connections == 0


def test_each_member_calls_with_their_own_key(acme, alice, bob, bob_api, alice_api, upstream):
    installation = install(
        acme, alice, bob, upstream, {"type": "user_http", "authorization_type": "bearer"}, "mine"
    )
    set_user_credential(installation=installation, user=bob, token=USER_KEY)
    assert call(bob_api, installation, "listTables", {}).status_code == 200
    assert upstream.seen[0].headers["x-api-key"] == USER_KEY

    missing = call(alice_api, installation, "listTables", {})
    assert missing.status_code == 424
    assert missing.json()["error"]["action_url"]
    assert USER_KEY not in missing.content.decode()
    assert len(upstream.seen) == 1

    mine = bob_api.get("/api/v1/installed-plugins/").json()[0]["connection"]
    assert mine == {"state": "connected", "connect_url": None}
    hers = alice_api.get("/api/v1/installed-plugins/").json()[0]["connection"]
    assert hers["state"] == "not_connected"
    assert hers["connect_url"].endswith(f"/o/acme/installations/{installation.pk}/credentials/")


@pytest.mark.parametrize("kind", ["service_http", "user_http"])
def test_a_refused_key_is_not_retried(acme, alice, bob, bob_api, upstream, kind):
    installation = install(
        acme, alice, bob, upstream, {"type": kind, "authorization_type": "bearer"}, "k"
    )
    if kind == "service_http":
        set_service_credential(plugin=installation.plugin, token=SERVICE_KEY, set_by=alice)
    else:
        set_user_credential(installation=installation, user=bob, token=USER_KEY)
    upstream.route("GET /databases", lambda h: h.reply(401, b'{"error": "bad key"}'))
    response = call(bob_api, installation, "listTables", {})
    assert response.status_code == 200
    assert response.json()["status"] == 401
    assert len(upstream.seen) == 1
