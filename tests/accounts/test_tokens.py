"""Personal access tokens and organization API keys: the web pages and the bearer check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiCredential, CredentialKind, Membership
from accounts.services import issue_credential
from tests.accounts.helpers import bearer

ME = "/api/v1/me"


def _row_text(credential) -> str:
    """Every column of the credential's row, as the database has it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {ApiCredential._meta.db_table} WHERE id = %s", [credential.pk]
        )
        return " ".join(str(value) for value in cursor.fetchone())


# --- Web pages -----------------------------------------------------------------------------


def test_it_creates_a_token_and_shows_it_once(alice_client, alice):
    url = reverse("org-tokens", args=["acme"])
    r = alice_client.post(url, {"name": "laptop", "expires_on": ""})
    assert r.status_code == 200
    credential = ApiCredential.objects.get(name="laptop")
    assert credential.kind == "personal"
    assert credential.user == alice
    token = r.context["new_token"]
    assert token.startswith(credential.prefix + "_")
    assert token in r.content.decode()
    assert r["Cache-Control"] == "no-store"

    r = alice_client.get(url)
    assert token not in r.content.decode()
    assert credential.prefix in r.content.decode()


def test_it_stores_only_an_hmac_of_the_token(alice_client):
    r = alice_client.post(reverse("org-tokens", args=["acme"]), {"name": "laptop"})
    token = r.context["new_token"]
    credential = ApiCredential.objects.get(name="laptop")
    row = _row_text(credential)
    secret_part = token.removeprefix(credential.prefix + "_")
    assert token not in row
    assert secret_part not in row
    assert len(credential.secret_hash) == 64


def test_it_creates_a_token_with_an_expiry_date(alice_client):
    day = (timezone.now() + timedelta(days=30)).date()
    alice_client.post(
        reverse("org-tokens", args=["acme"]), {"name": "ci", "expires_on": day.isoformat()}
    )
    assert ApiCredential.objects.get(name="ci").expires_at.date() == day


def test_it_rejects_an_expiry_date_in_the_past(alice_client):
    r = alice_client.post(
        reverse("org-tokens", args=["acme"]), {"name": "ci", "expires_on": "2001-01-01"}
    )
    assert r.status_code == 400
    assert b"must be in the future" in r.content
    assert not ApiCredential.objects.exists()


def test_it_requires_a_token_name(alice_client):
    r = alice_client.post(reverse("org-tokens", args=["acme"]), {"name": ""})
    assert r.status_code == 400
    assert not ApiCredential.objects.exists()


def test_it_lists_only_the_users_own_tokens(bob_client, alice_pat):
    r = bob_client.get(reverse("org-tokens", args=["acme"]))
    assert r.status_code == 200
    assert alice_pat[0].prefix not in r.content.decode()


def test_it_revokes_a_token(alice_client, alice_pat):
    credential, token = alice_pat
    r = alice_client.post(reverse("token-revoke", args=["acme", credential.pk]))
    assert r.status_code == 302
    credential.refresh_from_db()
    assert credential.revoked_at is not None
    assert alice_client.get(ME, **bearer(token)).status_code == 401


def test_it_404s_revoking_someone_elses_token(bob_client, alice_pat):
    credential, _ = alice_pat
    assert bob_client.post(reverse("token-revoke", args=["acme", credential.pk])).status_code == 404
    credential.refresh_from_db()
    assert credential.revoked_at is None


def test_it_creates_an_organization_api_key(alice_client, alice):
    r = alice_client.post(
        reverse("org-api-keys", args=["acme"]), {"name": "orchestrator", "role": "developer"}
    )
    assert r.status_code == 200
    credential = ApiCredential.objects.get(name="orchestrator")
    assert credential.kind == "organization"
    assert credential.user is None
    assert credential.created_by == alice
    assert credential.role == "developer"
    token = r.context["new_token"]
    assert token in r.content.decode()
    assert token not in alice_client.get(reverse("org-api-keys", args=["acme"])).content.decode()


def test_it_keeps_admins_from_creating_owner_keys(client, acme, charlie):
    Membership.objects.create(organization=acme, user=charlie, role="admin")
    client.force_login(charlie)
    r = client.post(reverse("org-api-keys", args=["acme"]), {"name": "k", "role": "owner"})
    assert r.status_code == 400
    assert b"stronger role than yours" in r.content
    assert not ApiCredential.objects.exists()


def test_it_forbids_members_the_api_keys_page(bob_client, acme_key):
    assert bob_client.get(reverse("org-api-keys", args=["acme"])).status_code == 403
    url = reverse("api-key-revoke", args=["acme", acme_key[0].pk])
    assert bob_client.post(url).status_code == 403


def test_it_revokes_an_api_key(alice_client, acme_key):
    credential, token = acme_key
    r = alice_client.post(reverse("api-key-revoke", args=["acme", credential.pk]))
    assert r.status_code == 302
    assert alice_client.get(ME, **bearer(token)).status_code == 401


def test_it_does_not_revoke_a_personal_token_as_an_api_key(alice_client, alice_pat):
    credential, _ = alice_pat
    url = reverse("api-key-revoke", args=["acme", credential.pk])
    assert alice_client.post(url).status_code == 404
    credential.refresh_from_db()
    assert credential.revoked_at is None


# --- Bearer authentication -----------------------------------------------------------------


def test_it_answers_me_for_a_personal_token(client, alice, acme, alice_pat):
    credential, token = alice_pat
    r = client.get(ME, **bearer(token))
    assert r.status_code == 200
    assert r.json() == {
        "user": {"id": alice.pk, "email": "alice@example.com", "name": ""},
        "organization": {"id": acme.pk, "slug": "acme", "name": "Acme"},
        "role": "owner",
        "token_kind": "personal",
        "token_prefix": credential.prefix,
    }


def test_it_answers_me_for_an_organization_key(client, acme, acme_key):
    credential, token = acme_key
    r = client.get(ME, **bearer(token))
    assert r.status_code == 200
    assert r.json() == {
        "user": None,
        "organization": {"id": acme.pk, "slug": "acme", "name": "Acme"},
        "role": "developer",
        "token_kind": "organization",
        "token_prefix": credential.prefix,
    }


def test_it_acts_with_the_users_current_role(client, acme, bob, bob_membership):
    _, token = issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="t", created_by=bob, user=bob
    )
    assert client.get(ME, **bearer(token)).json()["role"] == "member"
    Membership.objects.filter(pk=bob_membership.pk).update(role="developer")
    assert client.get(ME, **bearer(token)).json()["role"] == "developer"


def test_it_records_last_use(client, alice_pat):
    credential, token = alice_pat
    assert credential.last_used_at is None
    client.get(ME, **bearer(token))
    credential.refresh_from_db()
    assert credential.last_used_at is not None
    assert timezone.now() - credential.last_used_at < timedelta(seconds=30)


def _bad_tokens(acme, alice, alice_pat):
    credential, token = alice_pat
    _, expired = issue_credential(
        organization=acme,
        kind=CredentialKind.PERSONAL,
        name="old",
        created_by=alice,
        user=alice,
        expires_at=timezone.now() + timedelta(seconds=60),
    )
    ApiCredential.objects.filter(name="old").update(expires_at=timezone.now())
    _, revoked = issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="rev", created_by=alice, user=alice
    )
    ApiCredential.objects.filter(name="rev").update(revoked_at=timezone.now())
    secret = token.removeprefix(credential.prefix + "_")
    return {
        "expired": expired,
        "revoked": revoked,
        "malformed": "mkp_nonsense",
        "not ours": "ghp_" + "a" * 40,
        "unknown prefix": "mkp_ZZZZZZZZZZ_" + secret,
        "right prefix, wrong secret": f"{credential.prefix}_{'x' * 43}",
        "truncated": token[:-1],
    }


def test_it_answers_every_bad_token_with_the_same_401(client, acme, alice, alice_pat):
    bodies = set()
    for label, token in _bad_tokens(acme, alice, alice_pat).items():
        r = client.get(ME, **bearer(token))
        assert r.status_code == 401, label
        assert r["Content-Type"] == "application/json", label
        assert "error" in r.json(), label
        bodies.add(r.content)
    assert len(bodies) == 1
    assert bodies.pop() == (
        b'{"error":{"code":"authentication_failed","message":"Invalid or expired token."}}'
    )


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Token abc", "Basic YTpi"])
def test_it_401s_malformed_authorization_headers(client, db, header):
    r = client.get(ME, HTTP_AUTHORIZATION=header)
    assert r.status_code == 401
    assert r.json()["error"]["code"] in {"authentication_failed", "not_authenticated"}


def test_it_401s_without_a_token(client, db):
    r = client.get(ME)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"


def test_it_ignores_the_session_on_the_api(alice_client):
    assert alice_client.get(ME).status_code == 401


def test_it_401s_the_token_of_a_removed_member(client, acme, bob, bob_membership):
    _, token = issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="t", created_by=bob, user=bob
    )
    # Deleted without the service (which would also revoke): the membership check still holds.
    Membership.objects.filter(pk=bob_membership.pk).delete()
    assert client.get(ME, **bearer(token)).status_code == 401


def test_it_401s_the_token_of_a_deactivated_user(client, alice, alice_pat):
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    assert client.get(ME, **bearer(alice_pat[1])).status_code == 401
