"""The connect flow against a real authorization server (oidc-provider): code + PKCE, state
rules, refusals."""

from __future__ import annotations

import urllib.parse
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from accounts.models import AuditEvent
from plugins.credentials import resolve_credential
from plugins.credentials.models import ConnectionState, OAuthClient, OAuthConnection, OAuthFlow
from plugins.credentials.oauth.flow import connect_url_for


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


def test_bootstrap_templates_get_the_token_and_the_response_minus_its_secrets(make_world, alice):
    world = make_world()
    world.connect(alice)
    credential = resolve_credential(installation=world.installation, user=alice)
    token = credential.headers["Authorization"].split(" ", 1)[1]
    assert credential.bootstrap["token"] == token
    data = credential.bootstrap["data"]
    assert data["token_type"] == "Bearer"
    assert data["scope"] == "todo:read"
    assert "expires_in" in data
    assert not {"access_token", "refresh_token", "id_token"} & set(data)


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


# --- refusals --------------------------------------------------------------------------------


def _begin(world, user, web=None):
    """Start a flow as `user`: answers (web client, the provider's authorization URL)."""
    web = web or world.web(user)
    link = connect_url_for(installation=world.installation, user=user)
    started = web.get(urllib.parse.urlsplit(link).path)
    assert started.status_code == 302
    return web, started["Location"]


def _nothing_stored(world, user):
    return not OAuthConnection.objects.filter(installation=world.installation, user=user).exists()


def test_access_denied_at_the_provider_stores_nothing_and_says_so(make_world, alice):
    world = make_world()
    response = world.connect(alice, login_hint="deny")
    assert response.status_code == 400
    assert b"did not allow access" in response.content
    assert _nothing_stored(world, alice)
    assert world.server.token_requests() == 0
    assert AuditEvent.objects.filter(action="oauth.connect_failed").exists()


def test_a_replayed_callback_is_refused_without_replaying_the_code(make_world, alice):
    world = make_world()
    web, authorization_url = _begin(world, alice)
    callback = world.authorize(authorization_url)
    assert web.get(world.local(callback)).status_code == 302
    replay = web.get(world.local(callback))
    assert replay.status_code == 400
    assert b"used already" in replay.content
    # The code went to the provider once, so the tokens it minted still work.
    assert world.server.token_requests() == 1
    assert resolve_credential(installation=world.installation, user=alice).headers
    assert AuditEvent.objects.filter(
        action="oauth.callback_refused", details__reason="state used already"
    ).exists()


def test_a_callback_carrying_another_users_state_is_refused_and_audited(make_world, alice, bob):
    world = make_world()
    _, authorization_url = _begin(world, alice)
    callback = world.authorize(authorization_url)
    response = world.web(bob).get(world.local(callback))
    assert response.status_code == 400
    assert _nothing_stored(world, alice)
    assert _nothing_stored(world, bob)
    assert world.server.token_requests() == 0
    assert AuditEvent.objects.filter(
        action="oauth.callback_refused", details__reason="state of another user"
    ).exists()
    # The state is burnt: alice can't use it afterwards either.
    assert world.web(alice).get(world.local(callback)).status_code == 400


def test_an_expired_state_is_refused(make_world, alice):
    world = make_world()
    web, authorization_url = _begin(world, alice)
    callback = world.authorize(authorization_url)
    OAuthFlow.objects.update(started_at=timezone.now() - timedelta(minutes=11))
    response = web.get(world.local(callback))
    assert response.status_code == 400
    assert b"too long" in response.content
    assert _nothing_stored(world, alice)
    assert world.server.token_requests() == 0


def test_an_unknown_state_is_refused(make_world, alice):
    world = make_world()
    response = world.web(alice).get(
        f"/oauth/callback/{world.plugin.public_id}?code=abc&state=made-up"
    )
    assert response.status_code == 400
    assert world.server.token_requests() == 0


def test_a_callback_on_another_plugins_redirect_uri_is_refused(make_world, alice, acme):
    from plugins.models import Plugin

    world = make_world()
    other = Plugin.objects.create(organization=acme, slug="other", name="Other")
    web, authorization_url = _begin(world, alice)
    callback = world.authorize(authorization_url)
    query = urllib.parse.urlsplit(callback).query
    response = web.get(f"/oauth/callback/{other.public_id}?{query}")
    assert response.status_code == 400
    assert b"another plugin" in response.content
    assert world.server.token_requests() == 0


def test_a_callback_naming_another_issuer_is_refused(make_world, alice):
    world = make_world()
    web, authorization_url = _begin(world, alice)
    callback = world.authorize(authorization_url)
    assert "iss=" in callback  # RFC 9207: oidc-provider sends it
    forged = callback.replace(
        urllib.parse.quote(world.server.issuer, safe=""),
        urllib.parse.quote("http://127.0.0.1:1", safe=""),
    )
    response = web.get(world.local(forged))
    assert response.status_code == 400
    assert b"unexpected provider" in response.content
    assert _nothing_stored(world, alice)


def test_the_connect_link_is_only_for_the_user_it_was_made_for(make_world, alice, bob, charlie):
    world = make_world()
    link = connect_url_for(installation=world.installation, user=alice)
    path = urllib.parse.urlsplit(link).path
    assert world.web(bob).get(path).status_code == 404
    assert world.web(charlie).get(path).status_code == 404
    from django.test import Client

    anonymous = Client().get(path)
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]


def test_after_connecting_it_goes_back_only_to_a_path_on_this_site(make_world, alice):
    from plugins.credentials.oauth.flow import safe_return_path

    assert safe_return_path("/o/acme/credentials/") == "/o/acme/credentials/"
    for hostile in ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]:
        assert safe_return_path(hostile) == ""
    world = make_world()
    web = world.web(alice)
    link = connect_url_for(
        installation=world.installation, user=alice, return_to="//evil.example/steal"
    )
    started = web.get(urllib.parse.urlsplit(link).path)
    response = web.get(world.local(world.authorize(started["Location"])))
    assert response["Location"] == f"/o/acme/installations/{world.installation.pk}/credentials/"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("status500", b"HTTP 500"),
        ("html", b"not a token response"),
        ("huge", b"larger than allowed"),
        ("no_access_token", b"no access_token"),
        ("invalid_grant", b"refused the grant"),
    ],
)
def test_a_broken_token_answer_is_a_clear_connect_error_and_stores_nothing(
    make_world, alice, fault, message
):
    world = make_world()
    world.server.inject(fault)
    response = world.connect(alice)
    assert response.status_code == 400
    assert message in response.content, response.content
    assert _nothing_stored(world, alice)
    assert AuditEvent.objects.filter(action="oauth.connect_failed").exists()


@override_settings(MARKETPLACE_OAUTH_TIMEOUT=2)
def test_a_token_endpoint_that_hangs_times_out_and_stores_nothing(make_world, alice):
    world = make_world()
    world.server.inject("hang")
    response = world.connect(alice)
    assert response.status_code == 400
    assert b"Connecting failed" in response.content
    assert _nothing_stored(world, alice)


def test_a_redirect_from_the_token_endpoint_to_another_host_is_not_followed(
    make_world, alice, serve
):
    world = make_world()
    elsewhere = serve({"/steal": lambda handler: handler.reply(200, b'{"access_token":"x"}')})
    world.server.inject(f"redirect:{elsewhere.url}/steal")
    response = world.connect(alice)
    assert response.status_code == 400
    assert b"Redirects are not followed" in response.content
    assert elsewhere.connections == 0  # the secret, code and verifier never went there
    assert _nothing_stored(world, alice)


def test_a_form_only_token_endpoint_gets_a_form_when_the_manifest_says_json(make_world, alice):
    world = make_world(content_type="application/json")
    response = world.connect(alice)
    assert response.status_code == 302, response.content
    assert resolve_credential(installation=world.installation, user=alice).headers
    assert OAuthClient.objects.get(plugin=world.plugin).json_refused
    # Refused once (JSON), then sent as a form; from now on always a form.
    assert world.server.token_requests() == 2


def test_it_authenticates_with_client_secret_basic_when_configured(make_world, alice):
    world = make_world(auth_method="client_secret_basic")
    assert world.connect(alice).status_code == 302
    assert resolve_credential(installation=world.installation, user=alice).headers


def test_a_wrong_client_secret_is_a_clear_connect_error(make_world, alice):
    from plugins.credentials.services import set_oauth_client

    world = make_world()
    set_oauth_client(
        plugin=world.plugin, client_id="todo-marketplace", client_secret="wrong", set_by=alice
    )
    response = world.connect(alice)
    assert response.status_code == 400
    assert b"OAuth client" in response.content
    assert _nothing_stored(world, alice)


def test_disconnect_revokes_at_the_provider_and_deletes_locally(make_world, alice):
    from plugins.credentials import CredentialMissing
    from plugins.credentials.oauth.disconnect import disconnect

    world = make_world()
    world.connect(alice)
    assert disconnect(installation=world.installation, user=alice)
    assert world.server.stats()["revocation_requests"] == 2  # refresh and access token
    assert _nothing_stored(world, alice)
    with pytest.raises(CredentialMissing) as caught:
        resolve_credential(installation=world.installation, user=alice)
    assert "/oauth/start/" in caught.value.action_url
    assert AuditEvent.objects.filter(action="oauth.disconnected").exists()


def test_finished_flows_are_purged_a_day_later(make_world, alice):
    from plugins.credentials.tasks import purge_finished_flows

    world = make_world()
    world.connect(alice)
    fresh = connect_url_for(installation=world.installation, user=alice)
    assert OAuthFlow.objects.count() == 2
    assert purge_finished_flows() == 0
    OAuthFlow.objects.filter(used_at__isnull=False).update(
        used_at=timezone.now() - timedelta(days=2)
    )
    assert purge_finished_flows() == 1
    assert OAuthFlow.objects.get().key in fresh


def test_a_member_who_leaves_has_their_connection_revoked(make_world, acme, alice, bob):
    from accounts.services import remove_member
    from plugins.credentials.tasks import disconnect_former_member

    world = make_world()
    world.connect(bob, login_hint="bob")
    remove_member(membership=acme.memberships.get(user=bob), removed_by=alice)
    # The task the removal queued (run here; a worker runs it after the commit):
    assert disconnect_former_member(acme.pk, bob.pk) == 1
    assert world.server.stats()["revocation_requests"] == 2
    assert _nothing_stored(world, bob)


def test_uninstalling_revokes_every_members_grant_at_the_provider(make_world, alice, bob):
    from plugins.installations.services import uninstall_plugin

    world = make_world()
    world.connect(alice)
    world.connect(bob, login_hint="bob")
    uninstall_plugin(installation=world.installation, removed_by=alice)
    assert world.server.stats()["revocation_requests"] == 4  # two tokens for each member
    assert not OAuthConnection.objects.exists()
    assert AuditEvent.objects.filter(action="oauth.disconnected").count() == 2
    assert AuditEvent.objects.filter(action="plugin.uninstalled").count() == 1


def test_a_new_token_is_checked_at_the_plugins_token_validation_url_before_it_is_kept(
    make_world, alice, serve
):
    validator = serve({"/validate": lambda handler: handler.reply(200, b'{"active": true}')})
    world = make_world(token_validation_url=f"{validator.url}/validate")
    response = world.connect(alice)
    assert response.status_code == 302
    [seen] = [request for request in validator.seen if request.path == "/validate"]
    assert seen.method == "GET"
    credential = resolve_credential(installation=world.installation, user=alice)
    assert seen.headers["authorization"] == credential.headers["Authorization"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda handler: handler.reply(401, b'{"error": "invalid_token"}'), b"refused the new"),
        (lambda handler: handler.redirect(302, "http://127.0.0.1:1/elsewhere"), b"refused the new"),
        (lambda handler: handler.reply(503, b"down"), b"is failing"),
    ],
    ids=["refused", "redirected", "failing"],
)
def test_a_token_the_validation_url_does_not_accept_is_a_connect_error_and_stores_nothing(
    make_world, alice, serve, answer, message
):
    validator = serve({"/validate": answer})
    world = make_world(token_validation_url=f"{validator.url}/validate")
    response = world.connect(alice)
    assert response.status_code == 400
    assert message in response.content, response.content
    assert _nothing_stored(world, alice)
    assert AuditEvent.objects.filter(action="oauth.connect_failed").exists()
