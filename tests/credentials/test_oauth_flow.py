"""The connect flow against a real authorization server (oidc-provider): code + PKCE, state
rules, refusals."""

from __future__ import annotations

import urllib.parse

from accounts.models import AuditEvent
from plugins.credentials import resolve_credential
from plugins.credentials.models import ConnectionState, OAuthConnection


def test_it_connects_with_code_and_pkce_and_stores_tokens_encrypted(make_world, alice):
    world = make_world()
    response = world.connect(alice)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/installations/{world.installation.pk}/credentials/")
    connection = OAuthConnection.objects.get(installation=world.installation, user=alice)
    assert connection.state == ConnectionState.CONNECTED
    assert connection.sealed_access_token.startswith("v1.")
    assert connection.sealed_refresh_token.startswith("v1.")
    assert "todo:read" in connection.scopes.split()
    credential = resolve_credential(installation=world.installation, user=alice)
    assert credential.headers["Authorization"].startswith("Bearer ")
    assert (
        credential.headers["Authorization"].split(" ", 1)[1] not in connection.sealed_access_token
    )
    assert AuditEvent.objects.filter(action="oauth.connected").count() == 1


def test_the_authorization_url_always_carries_pkce_s256_and_a_state(make_world, alice):
    world = make_world()
    web = world.web(alice)
    from plugins.credentials.oauth.flow import connect_url_for

    link = connect_url_for(installation=world.installation, user=alice)
    started = web.get(urllib.parse.urlsplit(link).path)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(started["Location"]).query))
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32
    assert query["redirect_uri"].endswith(f"/oauth/callback/{world.plugin.public_id}")
