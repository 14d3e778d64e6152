"""Managing members: listing, role changes and removal, with the owner/admin rules."""

from __future__ import annotations

import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
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


def _many_members(acme, count: int) -> None:
    users = [create_user(email=f"staff{i:03d}@example.com") for i in range(count)]
    Membership.objects.bulk_create(
        Membership(organization=acme, user=user, role=Role.DEVELOPER if i % 10 == 0 else "member")
        for i, user in enumerate(users)
    )


def _listed_emails(html: str) -> list[str]:
    """The emails in the members table, in order (the page's first table body)."""
    members_table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>\s*<td>([^<]+?)\s*<", members_table)


def test_a_large_organization_is_listed_fifty_members_to_a_page(alice_client, acme):
    _many_members(acme, 120)  # with alice and bob: 122 members, 3 pages
    url = reverse("org-members", args=["acme"])

    first = alice_client.get(url).content.decode()
    last = alice_client.get(url, {"page": 3}).content.decode()

    assert "122 members · page 1 of 3" in first
    assert len(_listed_emails(first)) == 50
    assert _listed_emails(first)[:2] == ["alice@example.com", "bob@example.com"]
    assert 'rel="next" href="?page=2"' in first
    assert _listed_emails(last) == [f"staff{i:03d}@example.com" for i in range(98, 120)]
    assert 'rel="prev" href="?page=2"' in last


def test_the_page_costs_the_same_queries_whatever_the_organization_size(
    alice_client, acme, django_assert_max_num_queries
):
    url = reverse("org-members", args=["acme"])
    alice_client.get(url)
    with CaptureQueriesContext(connection) as small:
        alice_client.get(url)
    _many_members(acme, 120)
    with django_assert_max_num_queries(len(small.captured_queries)):
        alice_client.get(url, {"page": 2})


def test_members_are_found_by_part_of_their_email_and_by_role(alice_client, acme):
    _many_members(acme, 120)
    url = reverse("org-members", args=["acme"])

    found = alice_client.get(url, {"q": "STAFF11"}).content.decode()
    developers = alice_client.get(url, {"role": "developer"}).content.decode()

    assert _listed_emails(found) == [f"staff{i}@example.com" for i in range(110, 120)]
    assert "10 members matching these filters" in found
    assert _listed_emails(developers) == [f"staff{i:03d}@example.com" for i in range(0, 120, 10)]


def test_the_next_page_keeps_the_filters(alice_client, acme):
    _many_members(acme, 120)
    html = alice_client.get(reverse("org-members", args=["acme"]), {"role": "member"}).content
    assert 'rel="next" href="?role=member&amp;page=2"' in html.decode()


def test_a_search_never_finds_another_organizations_members(alice_client, charlie, globex):
    html = alice_client.get(reverse("org-members", args=["acme"]), {"q": "charlie"}).content
    assert _listed_emails(html.decode()) == []
    assert "No member matches these filters." in html.decode()


def test_an_unknown_role_filter_is_explained_and_lists_everyone(alice_client, bob_membership):
    html = alice_client.get(reverse("org-members", args=["acme"]), {"role": "emperor"}).content
    assert "Select a valid choice" in html.decode()
    assert _listed_emails(html.decode()) == ["alice@example.com", "bob@example.com"]


def test_an_out_of_range_page_shows_the_last_page(alice_client, acme):
    html = alice_client.get(reverse("org-members", args=["acme"]), {"page": "99"}).content
    assert _listed_emails(html.decode()) == ["alice@example.com", "bob@example.com"]
