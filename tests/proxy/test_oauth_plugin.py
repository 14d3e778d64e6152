"""An OAuth plugin through the proxy, its provider a real oidc-provider on loopback: the user's
token is injected, and a 401 from the plugin triggers one forced refresh and one retry."""

from __future__ import annotations

from plugins.installations.integrity import pin_fields
from plugins.installations.models import Installation
from plugins.models import PluginVersion
from tests.proxy.conftest import call, publish_version
from tests.tools.specs import data_plugin_spec


def oauth_data_plugin(make_world, acme, upstream):
    world = make_world()
    auth = world.installation.version.normalized["auth"]
    spec = data_plugin_spec(upstream.url)
    del spec["components"]["securitySchemes"]
    served = publish_version(acme, spec, base=upstream.url, name="oauthdata", auth=auth)
    PluginVersion.objects.filter(pk=world.installation.version_id).update(
        normalized=served.normalized, normalized_openapi=served.normalized_openapi
    )
    # A test-only rewrite of the version row: pin the installation to what it now holds.
    version = PluginVersion.objects.get(pk=world.installation.version_id)
    Installation.objects.filter(pk=world.installation.pk).update(**pin_fields(version))
    world.installation.refresh_from_db()
    return world


def test_a_401_refreshes_the_token_once_and_retries(
    make_world,
    acme,
    alice,
    alice_api,
    upstream,
):
    world = oauth_data_plugin(make_world, acme, upstream)
    world.connect(alice)
    tokens_seen: list[str] = []

    def tables(handler):
        tokens_seen.append(handler.headers["Authorization"])
        if len(tokens_seen) == 1:
            return handler.reply(401, b'{"error": "token expired"}')
        return handler.reply(200, b'[{"name": "orders"}]')

    upstream.route("GET /databases", tables)
    response = call(alice_api, world.installation, "listTables", {})
    assert response.status_code == 200, response.content
    assert response.json()["data"] == [{"name": "orders"}]
    assert len(tokens_seen) == 2
    assert tokens_seen[0] != tokens_seen[1]
    assert all(t.startswith("Bearer ") for t in tokens_seen)
    assert world.server.token_requests() == 2  # the code exchange and one forced refresh


def test_a_member_who_never_connected_gets_the_connect_link(
    make_world,
    acme,
    bob_api,
    upstream,
):
    world = oauth_data_plugin(make_world, acme, upstream)
    response = call(bob_api, world.installation, "listTables", {})
    assert response.status_code == 424
    assert "/oauth/start/" in response.json()["error"]["action_url"]
    assert upstream.connections == 0
    listed = bob_api.get("/api/v1/installed-plugins/").json()
    (entry,) = [e for e in listed if e["installation_id"] == world.installation.pk]
    assert entry["connection"]["state"] == "not_connected"
    assert entry["connection"]["connect_url"].endswith(
        f"/o/acme/installations/{world.installation.pk}/credentials/"
    )
