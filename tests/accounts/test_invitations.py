"""Inviting members by email and accepting the invitation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, Membership, Role, User
from accounts.services import create_user, invite_member
from tests.accounts.helpers import link_in

PASSWORD = "a long and unusual passphrase"


def _invite(client, email="dave@example.com", role="developer"):
    return client.post(reverse("member-invite", args=["acme"]), {"email": email, "role": role})


@pytest.fixture
def invitation(acme, alice):
    """(invitation, accept path) for dave@example.com as developer of Acme."""
    invitation, secret = invite_member(
        organization=acme, email="dave@example.com", role=Role.DEVELOPER, invited_by=alice
    )
    return invitation, reverse("invitation-accept", args=[secret])


@pytest.fixture
def dave(db):
    return create_user(email="dave@example.com", password=PASSWORD, verified=True)


def test_it_invites_by_email(alice_client, mailoutbox):
    r = _invite(alice_client)
    assert r.status_code == 302
    assert r.url == reverse("org-members", args=["acme"])
    invitation = Invitation.objects.get(email="dave@example.com")
    assert invitation.role == "developer"
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["dave@example.com"]
    assert "Acme" in mail.subject
    assert "alice@example.com" in mail.body
    path = link_in(mail, r"/invitations/[^/\s]+/")
    secret = path.split("/")[2]
    assert secret not in invitation.secret_hash  # only its HMAC is stored

    r = alice_client.get(reverse("org-members", args=["acme"]))
    assert b"dave@example.com" in r.content  # listed as pending


def test_it_forbids_members_inviting(bob_client, mailoutbox):
    assert _invite(bob_client).status_code == 403
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_it_keeps_admins_from_inviting_admins(client, acme, charlie, mailoutbox):
    Membership.objects.create(organization=acme, user=charlie, role=Role.ADMIN)
    client.force_login(charlie)
    r = _invite(client, role="admin")
    assert r.status_code == 400
    assert b"Only an owner" in r.content
    assert not Invitation.objects.exists()


def test_it_rejects_inviting_a_member(alice_client, mailoutbox):
    r = _invite(alice_client, email="BOB@example.com")
    assert r.status_code == 400
    assert b"already a member" in r.content
    assert mailoutbox == []


def test_it_rejects_a_malformed_email(alice_client):
    r = _invite(alice_client, email="not-an-email")
    assert r.status_code == 400
    assert b'class="errorlist' in r.content


def test_it_accepts_as_the_invited_user(dave, invitation):
    _, path = invitation
    client = Client()
    client.force_login(dave)
    r = client.get(path)
    assert r.status_code == 200
    assert b"Join Acme" in r.content
    assert b"Accept invitation" in r.content
    r = client.post(path)
    assert r.status_code == 302
    assert r.url == reverse("org-home", args=["acme"])
    assert Membership.objects.get(organization__slug="acme", user=dave).role == "developer"
    assert Invitation.objects.get().accepted_at is not None
    # The link is spent.
    assert client.get(path).status_code == 404


def test_it_refuses_a_user_with_another_email(charlie_client, invitation):
    _, path = invitation
    r = charlie_client.get(path)
    assert r.status_code == 200
    assert b"this invitation was sent to dave@example.com" in r.content
    assert b"Accept invitation" not in r.content
    r = charlie_client.post(path)
    assert r.status_code == 400
    assert b"This invitation was sent to another email address." in r.content
    assert not Membership.objects.filter(
        organization__slug="acme", user__email="charlie@example.com"
    ).exists()


def test_it_says_an_expired_link_is_not_valid(dave, invitation):
    inv, path = invitation
    Invitation.objects.filter(pk=inv.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    client = Client()
    client.force_login(dave)
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 404
        assert b"This invitation link is not valid" in response.content
    assert not Membership.objects.filter(user=dave, organization__slug="acme").exists()


def test_it_says_a_bad_link_is_not_valid(client, db):
    r = client.get(reverse("invitation-accept", args=["made-up"]))
    assert r.status_code == 404
    assert b"This invitation link is not valid" in r.content
    assert b"Traceback" not in r.content


def test_it_revokes_an_invitation(alice_client, invitation):
    inv, path = invitation
    r = alice_client.post(reverse("invitation-revoke", args=["acme", inv.pk]))
    assert r.status_code == 302
    assert not Invitation.objects.exists()
    assert Client().get(path).status_code == 404


def test_it_forbids_members_revoking_invitations(bob_client, invitation):
    inv, _ = invitation
    assert bob_client.post(reverse("invitation-revoke", args=["acme", inv.pk])).status_code == 403
    assert Invitation.objects.filter(pk=inv.pk).exists()


def test_it_sends_logged_out_visitors_to_sign_up_and_back(invitation, mailoutbox):
    """A new user signs up from the link: the address is proven by the link itself, so
    there's no extra verification mail, and the signup returns to the invitation."""
    _, path = invitation
    client = Client()
    r = client.get(path)
    assert r.status_code == 200
    html = r.content.decode()
    signup_url = f"{reverse('account_signup')}?next={path.replace('/', '%2F')}"
    assert signup_url in html

    r = client.post(
        signup_url,
        {"email": "dave@example.com", "password1": PASSWORD, "password2": PASSWORD, "next": path},
    )
    assert r.status_code == 302
    assert r.url == path
    assert "_auth_user_id" in client.session
    assert mailoutbox == []

    r = client.post(path)
    assert r.status_code == 302
    dave = User.objects.get(email="dave@example.com")
    assert Membership.objects.get(organization__slug="acme", user=dave).role == "developer"


def test_it_sends_logged_out_members_to_log_in_and_back(dave, invitation):
    _, path = invitation
    client = Client()
    r = client.get(path)
    login_url = f"{reverse('account_login')}?next={path.replace('/', '%2F')}"
    assert login_url in r.content.decode()
    r = client.post(login_url, {"login": "dave@example.com", "password": PASSWORD, "next": path})
    assert r.status_code == 302
    assert r.url == path
