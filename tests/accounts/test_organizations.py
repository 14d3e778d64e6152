"""The dashboard, the org switcher, creating a team organization and the org home page."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import Membership, Organization


def test_it_lands_a_user_in_the_team_they_work_in(client, alice, acme):
    client.force_login(alice)
    personal = Organization.objects.get(is_personal=True, memberships__user=alice)
    r = client.get(reverse("dashboard"))
    assert r.status_code == 302
    assert r.url == reverse("org-home", args=["acme"])
    assert personal.slug != "acme"


def test_it_lands_a_user_where_they_last_worked(client, alice, acme):
    client.force_login(alice)
    personal = Organization.objects.get(is_personal=True, memberships__user=alice)
    client.get(reverse("org-members", args=[personal.slug]))
    assert client.get(reverse("dashboard")).url == reverse("org-home", args=[personal.slug])


def test_a_user_with_no_organization_gets_a_personal_one(client, charlie):
    client.force_login(charlie)
    r = client.get(reverse("dashboard"))
    personal = Organization.objects.get(is_personal=True, memberships__user=charlie)
    assert r.url == reverse("org-home", args=[personal.slug])


def test_the_header_keeps_the_current_organization_outside_it(client, alice, acme):
    client.force_login(alice)
    personal = Organization.objects.get(is_personal=True, memberships__user=alice)
    client.get(reverse("org-home", args=[personal.slug]))
    page = client.get("/plugins/")
    assert page.context["current_organization"] == personal
    assert f'<option value="{personal.slug}" selected>' in page.content.decode()
    client.get(reverse("org-home", args=["acme"]))
    page = client.get("/accounts/password/change/")
    assert page.context["current_organization"] == acme
    assert 'href="/o/acme/plugins/">Publish</a>' in page.content.decode()


def test_switching_keeps_the_page_you_are_on(client, alice, acme):
    client.force_login(alice)
    personal = Organization.objects.get(is_personal=True, memberships__user=alice)
    members = client.get(reverse("org-members", args=["acme"])).content.decode()
    assert 'name="section" value="org-members"' in members
    r = client.get(reverse("switch-organization"), {"org": personal.slug, "section": "org-members"})
    assert r.url == reverse("org-members", args=[personal.slug])
    r = client.get(reverse("switch-organization"), {"org": "acme", "section": "account_logout"})
    assert r.url == reverse("org-home", args=["acme"])


def test_it_sends_anonymous_visitors_to_login(client, acme):
    for url in (
        reverse("dashboard"),
        reverse("org-home", args=["acme"]),
        reverse("organization-create"),
    ):
        r = client.get(url)
        assert r.status_code == 302
        assert r.url.startswith(reverse("account_login"))


def test_it_switches_to_an_organization_of_the_user(bob_client):
    r = bob_client.get(reverse("switch-organization"), {"org": "acme"})
    assert r.status_code == 302
    assert r.url == reverse("org-home", args=["acme"])


def test_it_404s_switching_to_someone_elses_organization(charlie_client, acme):
    assert charlie_client.get(reverse("switch-organization"), {"org": "acme"}).status_code == 404
    assert charlie_client.get(reverse("switch-organization"), {"org": "nope"}).status_code == 404
    assert charlie_client.get(reverse("switch-organization")).status_code == 404


def test_it_lists_the_users_organizations_in_the_switcher(alice_client):
    r = alice_client.get(reverse("org-home", args=["acme"]))
    html = r.content.decode()
    assert 'id="org-switcher"' in html
    assert '<option value="acme" selected>' in html
    assert "alice&#x27;s workspace" in html


def test_it_shows_the_org_home(alice_client):
    r = alice_client.get(reverse("org-home", args=["acme"]))
    assert r.status_code == 200
    html = r.content.decode()
    assert "2 members" in html
    for name in ("org-members", "org-tokens", "org-api-keys"):
        assert reverse(name, args=["acme"]) in html


def test_it_links_the_org_home_to_the_plugins(alice_client):
    r = alice_client.get(reverse("org-home", args=["acme"]))
    assert reverse("publisher-plugins", args=["acme"]) in r.content.decode()


def test_it_hides_the_api_keys_link_from_members(bob_client):
    r = bob_client.get(reverse("org-home", args=["acme"]))
    assert r.status_code == 200
    assert reverse("org-api-keys", args=["acme"]) not in r.content.decode()


def test_it_404s_the_org_home_for_outsiders(charlie_client, acme):
    assert charlie_client.get(reverse("org-home", args=["acme"])).status_code == 404
    assert charlie_client.get(reverse("org-home", args=["missing"])).status_code == 404


def test_it_creates_a_team_organization(alice_client, alice):
    r = alice_client.post(reverse("organization-create"), {"name": "Initech", "slug": ""})
    org = Organization.objects.get(name="Initech")
    assert r.status_code == 302
    assert r.url == reverse("org-home", args=[org.slug])
    assert org.slug == "initech"
    assert not org.is_personal
    assert Membership.objects.get(organization=org, user=alice).role == "owner"


def test_it_rejects_a_taken_slug(alice_client, acme):
    r = alice_client.post(reverse("organization-create"), {"name": "Acme 2", "slug": "acme"})
    assert r.status_code == 400
    assert b'class="errorlist' in r.content
    assert not Organization.objects.filter(name="Acme 2").exists()


def test_it_rejects_a_bad_slug(alice_client):
    r = alice_client.post(reverse("organization-create"), {"name": "X", "slug": "no spaces!"})
    assert r.status_code == 400
    assert not Organization.objects.filter(name="X").exists()
