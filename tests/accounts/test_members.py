"""Managing members: listing, role changes and removal, with the owner/admin rules."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from accounts.models import CredentialKind, Membership, Role
from accounts.services import create_user, issue_credential
from tests.accounts.helpers import bearer


def _role_url(membership):
    return reverse("member-role", args=[membership.organization.slug, membership.pk])


def _remove_url(membership):
    return reverse("member-remove", args=[membership.organization.slug, membership.pk])


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _make(acme, user, role):
    return Membership.objects.create(organization=acme, user=user, role=role)


def test_it_lists_members_to_members(bob_client):
    r = bob_client.get(reverse("org-members", args=["acme"]))
    assert r.status_code == 200
    html = r.content.decode()
    assert "alice@example.com" in html
    assert "bob@example.com" in html
    assert reverse("member-invite", args=["acme"]) not in html  # no invite form for members


def test_it_shows_the_invite_form_to_owners(alice_client):
    r = alice_client.get(reverse("org-members", args=["acme"]))
    assert reverse("member-invite", args=["acme"]) in r.content.decode()


def test_each_row_of_the_admins_page_has_its_own_forms_and_selected_role(
    alice_client, alice_membership, bob_membership
):
    html = alice_client.get(reverse("org-members", args=["acme"])).content.decode()
    for membership, email in ((alice_membership, "alice"), (bob_membership, "bob")):
        assert f'action="{_role_url(membership)}"' in html
        assert f'action="{_remove_url(membership)}"' in html
        row = html.split(f'id="role-{membership.pk}"')[1].split("</select>")[0]
        selected = [o for o in row.split("<option")[1:] if " selected>" in o]
        assert [o.split('"')[1] for o in selected] == [membership.role], email
    assert html.count("(you)") == 1
    assert "Leave Acme?" in html


def test_it_changes_a_role(alice_client, bob_membership):
    r = alice_client.post(_role_url(bob_membership), {"role": "developer"}, follow=True)
    assert r.status_code == 200
    bob_membership.refresh_from_db()
    assert bob_membership.role == "developer"
    assert "bob@example.com is now developer." in _messages(r)


def test_it_forbids_members_changing_roles(bob_client, alice_membership):
    r = bob_client.post(_role_url(alice_membership), {"role": "member"})
    assert r.status_code == 403
    alice_membership.refresh_from_db()
    assert alice_membership.role == "owner"


def test_it_keeps_admins_from_making_owners(client, acme, bob, charlie, bob_membership):
    _make(acme, charlie, Role.ADMIN)
    client.force_login(charlie)
    r = client.post(_role_url(bob_membership), {"role": "owner"}, follow=True)
    bob_membership.refresh_from_db()
    assert bob_membership.role == "member"
    assert any("Only an owner" in m for m in _messages(r))


def test_it_lets_admins_promote_members_to_developer(client, acme, charlie, bob_membership):
    _make(acme, charlie, Role.ADMIN)
    client.force_login(charlie)
    client.post(_role_url(bob_membership), {"role": "developer"})
    bob_membership.refresh_from_db()
    assert bob_membership.role == "developer"


def test_it_keeps_the_last_owner(alice_client, alice_membership):
    r = alice_client.post(_role_url(alice_membership), {"role": "admin"}, follow=True)
    alice_membership.refresh_from_db()
    assert alice_membership.role == "owner"
    assert "An organization needs at least one owner." in _messages(r)

    r = alice_client.post(_remove_url(alice_membership), follow=True)
    assert Membership.objects.filter(pk=alice_membership.pk).exists()
    assert "The last owner can't be removed." in _messages(r)


def test_it_lets_an_owner_step_down_when_there_is_another(
    alice_client, acme, charlie, alice_membership
):
    _make(acme, charlie, Role.OWNER)
    alice_client.post(_role_url(alice_membership), {"role": "admin"})
    alice_membership.refresh_from_db()
    assert alice_membership.role == "admin"


def test_it_rejects_an_unknown_role(alice_client, bob_membership):
    r = alice_client.post(_role_url(bob_membership), {"role": "emperor"}, follow=True)
    bob_membership.refresh_from_db()
    assert bob_membership.role == "member"
    assert "Choose one of the roles." in _messages(r)


def test_it_removes_a_member_and_revokes_their_tokens(alice_client, acme, bob, bob_membership):
    credential, token = issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="bob's", created_by=bob, user=bob
    )
    r = alice_client.post(_remove_url(bob_membership), follow=True)
    assert r.status_code == 200
    assert not Membership.objects.filter(pk=bob_membership.pk).exists()
    credential.refresh_from_db()
    assert credential.revoked_at is not None
    assert any("their tokens are revoked" in m for m in _messages(r))
    assert Client().get("/api/v1/me", **bearer(token)).status_code == 401


def test_it_forbids_members_removing_others(bob_client, alice_membership):
    assert bob_client.post(_remove_url(alice_membership)).status_code == 403
    assert Membership.objects.filter(pk=alice_membership.pk).exists()


def test_it_keeps_admins_from_removing_owners(client, acme, charlie, alice_membership):
    _make(acme, create_user(email="erin@example.com"), Role.OWNER)  # alice isn't the last
    _make(acme, charlie, Role.ADMIN)
    client.force_login(charlie)
    r = client.post(_remove_url(alice_membership), follow=True)
    assert Membership.objects.filter(pk=alice_membership.pk).exists()
    assert any("Only an owner" in m for m in _messages(r))


def test_it_lets_an_admin_leave(client, acme, charlie):
    membership = _make(acme, charlie, Role.ADMIN)
    client.force_login(charlie)
    r = client.post(_remove_url(membership))
    assert r.status_code == 302
    assert r.url == reverse("dashboard")
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_it_404s_members_of_another_organization(alice_client, charlie, globex):
    charlie_membership = Membership.objects.get(organization=globex, user=charlie)
    # alice is an owner, but of acme: globex's membership is "not found" through acme's URL.
    url = reverse("member-role", args=["acme", charlie_membership.pk])
    assert alice_client.post(url, {"role": "member"}).status_code == 404
    url = reverse("member-remove", args=["acme", charlie_membership.pk])
    assert alice_client.post(url).status_code == 404
    assert Membership.objects.filter(pk=charlie_membership.pk, role="owner").exists()


def test_it_only_accepts_posts_for_changes(alice_client, bob_membership):
    assert alice_client.get(_role_url(bob_membership)).status_code == 405
    assert alice_client.get(_remove_url(bob_membership)).status_code == 405


def test_a_plain_member_can_leave(web_as, bob, acme):
    response = web_as(bob).post("/o/acme/leave/")

    assert response.status_code == 302
    assert not acme.memberships.filter(user=bob).exists()


def test_the_last_owner_cannot_leave(web_as, alice, acme):
    response = web_as(alice).post("/o/acme/leave/", follow=True)

    assert acme.memberships.filter(user=alice, role="owner").exists()
    assert "last owner" in response.content.decode()
