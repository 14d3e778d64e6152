"""The Django admin: users, organizations, memberships, invitations, credentials (read-only)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiCredential, Invitation, Membership, Organization, User
from accounts.services import create_user, invite_member


@pytest.fixture
def admin_client_(db):
    root = create_user(email="root@example.com", password="x" * 12, verified=True)
    User.objects.filter(pk=root.pk).update(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(root)
    return client


@pytest.mark.parametrize("model", [User, Organization, Membership, Invitation, ApiCredential])
def test_it_loads_the_admin_pages(admin_client_, acme, alice, alice_pat, model):
    invite_member(organization=acme, email="dave@example.com", role="member", invited_by=alice)
    info = (model._meta.app_label, model._meta.model_name)
    r = admin_client_.get(reverse("admin:{}_{}_changelist".format(*info)))
    assert r.status_code == 200
    obj = model.objects.first()
    r = admin_client_.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
    assert r.status_code == 200


def test_it_shows_the_prefix_but_never_the_token(admin_client_, alice_pat):
    credential, token = alice_pat
    r = admin_client_.get(reverse("admin:accounts_apicredential_changelist"))
    assert credential.prefix in r.content.decode()
    assert token not in r.content.decode()
    r = admin_client_.get(reverse("admin:accounts_apicredential_change", args=[credential.pk]))
    html = r.content.decode()
    assert credential.prefix in html
    assert credential.secret_hash in html
    assert token not in html
    # The secret part (token_urlsafe may itself contain "_", so cut at the prefix).
    assert token.removeprefix(credential.prefix + "_") not in html
    assert 'name="name"' not in html  # read-only: no inputs


def test_it_cannot_add_credentials_in_the_admin(admin_client_, alice_pat):
    assert admin_client_.get(reverse("admin:accounts_apicredential_add")).status_code == 403
    credential, _ = alice_pat
    r = admin_client_.post(
        reverse("admin:accounts_apicredential_change", args=[credential.pk]), {"name": "renamed"}
    )
    assert r.status_code == 403


def test_it_revokes_credentials_from_the_admin(admin_client_, alice_pat):
    credential, _ = alice_pat
    r = admin_client_.post(
        reverse("admin:accounts_apicredential_changelist"),
        {
            "action": "revoke",
            "_selected_action": [credential.pk],
        },
    )
    assert r.status_code == 302
    credential.refresh_from_db()
    assert credential.revoked_at is not None


def test_it_adds_a_user_in_the_admin(admin_client_):
    r = admin_client_.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "new@example.com",
            "usable_password": "true",
            "password1": "a long and unusual passphrase",
            "password2": "a long and unusual passphrase",
        },
    )
    assert r.status_code == 302
    assert User.objects.filter(email="new@example.com").exists()


def test_it_keeps_non_staff_out_of_the_admin(alice_client):
    r = alice_client.get(reverse("admin:index"))
    assert r.status_code == 302
    assert "/admin/login/" in r.url
