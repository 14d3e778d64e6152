"""Service keys (publisher) and users' own keys: the REST contract, injection, bad input."""

from __future__ import annotations

import base64
import json

import pytest

from accounts.models import AuditEvent, CredentialKind, Role
from accounts.services import issue_credential
from plugins.credentials import (
    CredentialMissing,
    CredentialUnreadableByUser,
    force_refresh,
    resolve_credential,
)
from plugins.credentials.models import ServiceCredential, UserCredential, VerificationToken
from plugins.installations.services import install_plugin
from tests.installations.helpers import make_version

SERVICE_KEY = "svc-canary-key-7a1b2c3d4e5f"
USER_KEY = "usr-canary-key-9f8e7d6c5b4a"


@pytest.fixture
def service_plugin(acme, alice):
    version = make_version(
        acme, slug="weather", auth={"type": "service_http", "authorization_type": "bearer"}
    )
    return install_plugin(organization=acme, version=version, installed_by=alice)


def _user_plugin(acme, alice, *, authorization_type="bearer", spec=None):
    version = make_version(
        acme, slug="mail", auth={"type": "user_http", "authorization_type": authorization_type}
    )
    if spec is not None:
        type(version).objects.filter(pk=version.pk).update(normalized_openapi=spec)
        version.refresh_from_db()
    return install_plugin(organization=acme, version=version, installed_by=alice)


@pytest.fixture
def user_plugin(acme, alice):
    return _user_plugin(acme, alice)


# --- service keys ---------------------------------------------------------------------------


def test_a_publisher_sets_the_service_key_which_is_never_readable_back(service_plugin, alice_api):
    plugin = service_plugin.plugin
    url = f"/api/v1/plugins/{plugin.pk}/service-credential"
    response = alice_api.put(url, {"token": SERVICE_KEY}, content_type="application/json")
    assert response.status_code == 204
    shown = alice_api.get(url)
    assert shown.status_code == 200
    body = shown.json()
    assert body["set"] is True
    assert body["hint"] == "••••4e5f"
    assert body["set_by"] == "alice@example.com"
    assert body["verification_token"].startswith("mkpv_")
    assert body["verification_found"] is False
    assert SERVICE_KEY not in shown.content.decode()
    stored = ServiceCredential.objects.get(plugin=plugin)
    assert SERVICE_KEY not in stored.sealed_token
    assert AuditEvent.objects.filter(action="credential.service.set").count() == 1


def test_the_proxy_gets_the_service_key_for_every_user(service_plugin, alice, bob):
    from plugins.credentials.services import set_service_credential

    set_service_credential(plugin=service_plugin.plugin, token=SERVICE_KEY, set_by=alice)
    for user in (alice, bob, None):
        credential = resolve_credential(installation=service_plugin, user=user)
        assert credential.headers == {"Authorization": f"Bearer {SERVICE_KEY}"}
        assert SERVICE_KEY not in repr(credential)


def test_replacing_the_service_key_takes_effect_at_once(service_plugin, alice):
    from plugins.credentials.services import set_service_credential

    set_service_credential(plugin=service_plugin.plugin, token=SERVICE_KEY, set_by=alice)
    resolve_credential(installation=service_plugin, user=alice)  # cached
    set_service_credential(plugin=service_plugin.plugin, token="svc-new-key-000000", set_by=alice)
    credential = resolve_credential(installation=service_plugin, user=alice)
    assert credential.headers["Authorization"] == "Bearer svc-new-key-000000"
    assert AuditEvent.objects.filter(action="credential.service.replaced").count() == 1


def test_a_plugin_without_a_service_key_is_a_missing_credential(service_plugin, alice):
    with pytest.raises(CredentialMissing):
        resolve_credential(installation=service_plugin, user=alice)


def test_only_developers_and_above_set_service_keys(service_plugin, bob, acme, api_as):
    response = api_as(bob, acme).put(
        f"/api/v1/plugins/{service_plugin.plugin.pk}/service-credential",
        {"token": SERVICE_KEY},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not ServiceCredential.objects.exists()


def test_validation_reports_whether_the_verification_token_is_in_the_manifest(
    service_plugin, alice_api, acme
):
    plugin = service_plugin.plugin
    url = f"/api/v1/plugins/{plugin.pk}/service-credential"
    token = alice_api.get(url).json()["verification_token"]
    assert VerificationToken.objects.get(plugin=plugin).token == token
    make_version(
        acme,
        plugin=plugin,
        number=2,
        auth={"type": "service_http", "verification_tokens": {"openai": token}},
    )
    assert alice_api.get(url).json()["verification_found"] is True


# --- users' keys ----------------------------------------------------------------------------


def test_a_user_sets_reads_and_deletes_their_own_key(user_plugin, alice_api):
    url = f"/api/v1/installations/{user_plugin.pk}/credential"
    assert alice_api.get(url).json() == {
        "set": False,
        "hint": "",
        "updated_at": None,
        "unreadable": False,
        "last_used_at": None,
    }
    assert (
        alice_api.put(url, {"token": USER_KEY}, content_type="application/json").status_code == 204
    )
    body = alice_api.get(url).json()
    assert body["set"] is True
    assert body["hint"] == "••••5b4a"
    assert body["updated_at"]
    assert alice_api.delete(url).status_code == 204
    assert alice_api.get(url).json()["set"] is False
    actions = list(
        AuditEvent.objects.filter(action__startswith="credential.user").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["credential.user.deleted", "credential.user.set"]


def test_each_user_gets_only_their_own_key(user_plugin, alice, bob):
    from plugins.credentials.services import set_user_credential

    set_user_credential(installation=user_plugin, user=alice, token=USER_KEY)
    assert resolve_credential(installation=user_plugin, user=alice).headers == {
        "Authorization": f"Bearer {USER_KEY}"
    }
    with pytest.raises(CredentialMissing) as caught:
        resolve_credential(installation=user_plugin, user=bob)
    assert caught.value.action_url.endswith(f"/o/acme/installations/{user_plugin.pk}/credentials/")
    with pytest.raises(CredentialMissing):
        resolve_credential(installation=user_plugin, user=None)


def test_last_used_is_recorded(user_plugin, alice):
    from plugins.credentials.services import set_user_credential

    set_user_credential(installation=user_plugin, user=alice, token=USER_KEY)
    resolve_credential(installation=user_plugin, user=alice)
    assert UserCredential.objects.get(user=alice).last_used_at is not None


def test_a_basic_key_is_sent_as_basic_credentials(acme, alice):
    from plugins.credentials.services import set_user_credential

    installation = _user_plugin(acme, alice, authorization_type="basic")
    set_user_credential(installation=installation, user=alice, token="alice:s3cret-pass")
    header = resolve_credential(installation=installation, user=alice).headers["Authorization"]
    assert header == "Basic " + base64.b64encode(b"alice:s3cret-pass").decode()


@pytest.mark.parametrize(
    ("scheme", "headers", "query"),
    [
        ({"type": "apiKey", "in": "header", "name": "X-Api-Key"}, {"X-Api-Key": USER_KEY}, {}),
        ({"type": "apiKey", "in": "query", "name": "api_key"}, {}, {"api_key": USER_KEY}),
    ],
)
def test_a_custom_header_or_query_name_comes_from_the_specs_security_scheme(
    acme, alice, scheme, headers, query
):
    from plugins.credentials.services import set_user_credential

    spec = {"components": {"securitySchemes": {"key": scheme}}}
    installation = _user_plugin(acme, alice, spec=spec)
    set_user_credential(installation=installation, user=alice, token=USER_KEY)
    credential = resolve_credential(installation=installation, user=alice)
    assert credential.headers == headers
    assert credential.query == query


def test_a_401_with_a_users_key_asks_the_user_to_enter_it_again(user_plugin, alice):
    from plugins.credentials.services import set_user_credential

    set_user_credential(installation=user_plugin, user=alice, token=USER_KEY)
    rejected = resolve_credential(installation=user_plugin, user=alice)
    with pytest.raises(CredentialMissing) as caught:
        force_refresh(installation=user_plugin, user=alice, rejected=rejected)
    assert "/credentials/" in caught.value.action_url


def test_user_keys_need_a_personal_token_not_an_organization_key(user_plugin, acme, alice):
    from django.test import Client

    _, token = issue_credential(
        organization=acme,
        kind=CredentialKind.ORGANIZATION,
        name="ci",
        created_by=alice,
        role=Role.ADMIN,
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.put(
        f"/api/v1/installations/{user_plugin.pk}/credential",
        {"token": USER_KEY},
        content_type="application/json",
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "bad",
    [
        "line\nbreak",
        "carriage\rreturn",
        "x\r\nX-Injected: yes",
        "nul\x00byte",
        "k" * 5000,
        "snowman☃key",
        "   ",
    ],
)
def test_keys_with_control_characters_or_absurd_lengths_are_refused_at_entry(
    user_plugin, alice_api, bad
):
    response = alice_api.put(
        f"/api/v1/installations/{user_plugin.pk}/credential",
        {"token": bad},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert bad.strip()[:20] not in response.content.decode() or not bad.strip()
    assert not UserCredential.objects.exists()


def test_a_key_that_no_longer_decrypts_asks_to_re_enter_it_and_is_audited(
    user_plugin, alice, web_as, api_as
):
    from plugins.credentials.services import set_user_credential

    row = set_user_credential(installation=user_plugin, user=alice, token=USER_KEY)
    head, body = row.sealed_token.rsplit(".", 1)
    flipped = ("A" if body[5] != "A" else "B").join([body[:5], body[6:]])
    UserCredential.objects.filter(pk=row.pk).update(sealed_token=f"{head}.{flipped}")
    from django.core.cache import cache

    cache.clear()
    with pytest.raises(CredentialUnreadableByUser) as caught:
        resolve_credential(installation=user_plugin, user=alice)
    assert (
        caught.value.message == "The stored key for this plugin cannot be read: re-enter your key."
    )
    assert caught.value.as_dict()["code"] == "credential.unreadable"
    event = AuditEvent.objects.get(action="credential.unreadable")
    assert event.details["reason"] == "does not authenticate"
    # The user is told where it matters: the page and the API say "re-enter your key".
    page = web_as(alice).get(f"/o/acme/installations/{user_plugin.pk}/credentials/")
    assert b"re-enter your key" in page.content
    assert (
        api_as(alice, user_plugin.organization)
        .get(f"/api/v1/installations/{user_plugin.pk}/credential")
        .json()["unreadable"]
        is True
    )
    set_user_credential(installation=user_plugin, user=alice, token=USER_KEY)
    assert resolve_credential(installation=user_plugin, user=alice).headers
    assert not UserCredential.objects.get(pk=row.pk).unreadable_since


def test_a_key_copied_to_another_users_row_does_not_decrypt(user_plugin, alice, bob):
    from plugins.credentials.services import set_user_credential

    mine = set_user_credential(installation=user_plugin, user=alice, token=USER_KEY)
    theirs = set_user_credential(installation=user_plugin, user=bob, token="bobs-own-key-1234")
    UserCredential.objects.filter(pk=theirs.pk).update(sealed_token=mine.sealed_token)
    from django.core.cache import cache

    cache.clear()
    with pytest.raises(CredentialUnreadableByUser):
        resolve_credential(installation=user_plugin, user=bob)


# --- OAuth client settings and connection endpoints --------------------------------------------


def test_the_oauth_client_settings_show_a_masked_secret_and_the_redirect_uri(
    acme, alice, alice_api
):
    version = make_version(
        acme,
        slug="cal",
        auth={
            "type": "oauth",
            "client_url": "http://127.0.0.1:8150/auth",
            "authorization_url": "http://127.0.0.1:8150/token",
        },
    )
    plugin = version.plugin
    url = f"/api/v1/plugins/{plugin.pk}/oauth-client"
    response = alice_api.put(
        url,
        {"client_id": "cal-client", "client_secret": "cal-secret-canary-0000", "scopes": "a b"},
        content_type="application/json",
    )
    assert response.status_code == 204
    body = alice_api.get(url).json()
    assert body["client_id"] == "cal-client"
    assert body["client_secret"] == "••••0000"
    assert body["scopes"] == "a b"
    assert body["auth_method"] == "client_secret_post"
    assert body["redirect_uri"].endswith(f"/oauth/callback/{plugin.public_id}")
    assert "cal-secret-canary" not in json.dumps(body)
    # Changing the scopes keeps the secret.
    alice_api.put(url, {"client_id": "cal-client", "scopes": "a"}, content_type="application/json")
    assert alice_api.get(url).json()["client_secret"] == "••••0000"


def test_connect_and_connection_endpoints(acme, alice, alice_api):
    version = make_version(
        acme,
        slug="cal",
        auth={
            "type": "oauth",
            "client_url": "http://127.0.0.1:8150/auth",
            "authorization_url": "http://127.0.0.1:8150/token",
        },
    )
    installation = install_plugin(organization=acme, version=version, installed_by=alice)
    base = f"/api/v1/installations/{installation.pk}"
    connect = alice_api.post(f"{base}/connect", {}, content_type="application/json")
    assert connect.status_code == 200
    assert "/oauth/start/" in connect.json()["connect_url"]
    assert alice_api.get(f"{base}/connection").json() == {
        "state": "not_connected",
        "expires_at": None,
        "scopes": [],
        "connected_at": None,
        "last_refreshed_at": None,
        "last_error": "",
    }
    assert alice_api.delete(f"{base}/connection").status_code == 404
    # A key endpoint on an OAuth plugin says so.
    assert alice_api.get(f"{base}/credential").status_code == 400


def test_a_validation_run_reports_whether_the_manifest_carries_our_verification_token(acme, alice):
    """The run of a version says whether its manifest carries the token we issued."""
    from plugins.credentials.models import VerificationToken
    from tests.support.plugins import upload

    def auth(tokens):
        return {
            "type": "service_http",
            "authorization_type": "bearer",
            "verification_tokens": tokens,
        }

    first = upload(acme, alice, auth=auth({"openai": "someone-elses"}))
    codes = set(first.run.findings.values_list("code", flat=True))
    assert "auth.verification_tokens.marketplace_missing" in codes
    token = VerificationToken.objects.get(plugin=first.version.plugin).token

    second = upload(acme, alice, auth=auth({"openai": "someone-elses", "marketplace": token}))
    assert second.version.plugin_id == first.version.plugin_id
    codes = set(second.run.findings.values_list("code", flat=True))
    assert "auth.verification_tokens.verified" in codes
    assert "auth.verification_tokens.marketplace_missing" not in codes


def test_a_run_issues_the_verification_token_only_when_the_manifest_asks_for_one(
    acme, alice, client
):
    """A plugin whose auth wants no verification gets its token when its publisher opens the
    credentials page (its run read none); one whose auth wants it gets it from its run."""
    from plugins.credentials.models import VerificationToken
    from tests.support.plugins import upload

    plain = upload(acme, alice, name_for_model="plain_plugin")
    plugin = plain.version.plugin
    assert not VerificationToken.objects.filter(plugin=plugin).exists()
    client.force_login(alice)
    page = client.get(f"/o/{acme.slug}/plugins/{plugin.pk}/credentials/")
    assert page.status_code == 200
    token = VerificationToken.objects.get(plugin=plugin).token
    assert token in page.content.decode()

    wanting = upload(
        acme,
        alice,
        name_for_model="wanting_plugin",
        auth={"type": "service_http", "authorization_type": "bearer", "verification_tokens": {}},
    )
    assert VerificationToken.objects.filter(plugin=wanting.version.plugin).exists()


def test_a_member_who_leaves_takes_no_key_along(user_plugin, acme, alice, bob):
    from accounts.services import remove_member
    from plugins.credentials.services import set_user_credential

    set_user_credential(installation=user_plugin, user=bob, token="bobs-key-12345678")
    resolve_credential(installation=user_plugin, user=bob)  # cached
    remove_member(membership=acme.memberships.get(user=bob), removed_by=alice)
    assert not UserCredential.objects.filter(user=bob).exists()
    with pytest.raises(CredentialMissing):
        resolve_credential(installation=user_plugin, user=bob)
    assert AuditEvent.objects.filter(action="credential.member_forgotten").exists()


def test_openplugins_x_plugin_auth_maps_onto_the_same_credentials(acme, alice):
    """x-plugin-auth (camelCase) is normalised by the validator into the same auth block."""
    from plugins.credentials.services import set_user_credential
    from tests.validation.helpers import openplugin_spec, validate_openplugin

    report = validate_openplugin(
        openplugin_spec(**{"x-plugin-auth": {"type": "user_http", "authorizationType": "basic"}})
    )
    assert report.plugin["auth"]["type"] == "user_http"
    version = make_version(acme, slug="op", auth=report.plugin["auth"])
    installation = install_plugin(organization=acme, version=version, installed_by=alice)
    set_user_credential(installation=installation, user=alice, token="ann:pw-123456789")
    header = resolve_credential(installation=installation, user=alice).headers["Authorization"]
    assert header == "Basic " + base64.b64encode(b"ann:pw-123456789").decode()
