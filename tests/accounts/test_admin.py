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
    assert credential.secret_hash not in html
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


@pytest.mark.parametrize("model", [User, Organization, Membership, Invitation])
def test_it_never_edits_accounts_in_the_admin(admin_client_, acme, alice, model):
    invite_member(organization=acme, email="dave@example.com", role="member", invited_by=alice)
    info = (model._meta.app_label, model._meta.model_name)
    obj = model.objects.first()
    change_url = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
    html = admin_client_.get(change_url).content.decode()
    assert 'name="_save"' not in html
    assert "<textarea" not in html
    assert admin_client_.post(change_url, {"name": "renamed", "role": "owner"}).status_code == 403
    assert admin_client_.get(reverse("admin:{}_{}_add".format(*info))).status_code == 403
    delete_url = reverse("admin:{}_{}_delete".format(*info), args=[obj.pk])
    assert admin_client_.post(delete_url, {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_it_shows_no_password_hash_for_a_user(admin_client_, alice):
    html = admin_client_.get(reverse("admin:accounts_user_change", args=[alice.pk])).content
    assert alice.password.encode() not in html
    assert alice.password.split("$")[-1].encode()[:6] not in html
    assert b"pbkdf2" not in html
    r = admin_client_.post(
        f"/admin/accounts/user/{alice.pk}/password/",
        {"password1": "x" * 20, "password2": "x" * 20},
    )
    assert r.status_code == 403


def test_it_searches_and_filters_the_audit_log(admin_client_, acme, alice):
    invite_member(organization=acme, email="dave@example.com", role="member", invited_by=alice)
    url = reverse("admin:accounts_auditevent_changelist")
    found = admin_client_.get(url, {"q": "dave@example.com"}).context["cl"].result_list
    assert [e.action for e in found] == ["invitation.sent"]
    r = admin_client_.get(url, {"action": "organization.created"})
    created = r.context["cl"].result_list
    assert "acme" in {e.target for e in created}
    assert {e.action for e in created} == {"organization.created"}


def test_it_keeps_non_staff_out_of_the_admin(alice_client):
    r = alice_client.get(reverse("admin:index"))
    assert r.status_code == 302
    assert "/admin/login/" in r.url
