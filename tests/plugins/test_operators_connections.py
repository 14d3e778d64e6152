"""The operators' console shows installations and connections with their OAuth state: read-only,
searchable, filterable, never a token."""

from __future__ import annotations

import pytest

from accounts.models import User
from accounts.services import create_user
from plugins.credentials.models import OAuthConnection

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(client):
    user = create_user(email="olivia@ops.example", password="x" * 16, verified=True)
    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def connected_world(make_world, alice, bob):
    """Alice connected; bob connected too, then the provider refused his grant."""
    world = make_world()
    world.connect(alice)
    world.connect(bob, login_hint="bob")
    OAuthConnection.objects.filter(user=bob).update(
        state="needs_reconnect", last_error="invalid_grant"
    )
    return world


def tokens(world) -> list[str]:
    return [
        value
        for row in OAuthConnection.objects.all()
        for value in (row.sealed_access_token, row.sealed_refresh_token)
        if value
    ]


def test_installations_list_their_connections_by_state_and_filter_on_it(ops, connected_world):
    installation = connected_world.installation
    listing = ops.get("/admin/installations/installation/").content.decode()
    assert "need reconnecting" in listing
    row = listing.split(f"/admin/installations/installation/{installation.pk}/change/")[1]
    cells = row.split("</tr>")[0]
    assert '<td class="field-connected">1</td>' in cells
    assert '<td class="field-needs_reconnect">1</td>' in cells
    assert '<td class="field-failing">0</td>' in cells

    needing = ops.get("/admin/installations/installation/", {"connections": "needs_reconnect"})
    assert list(needing.context["cl"].result_list) == [installation]
    failing = ops.get("/admin/installations/installation/", {"connections": "error"})
    assert list(failing.context["cl"].result_list) == []
    found = ops.get("/admin/installations/installation/", {"q": "acme"})
    assert list(found.context["cl"].result_list) == [installation]


def test_an_installation_page_shows_each_members_state_and_no_token(ops, connected_world):
    page = ops.get(
        f"/admin/installations/installation/{connected_world.installation.pk}/change/"
    ).content.decode()
    assert "Members&#x27; OAuth connections (state only)" in page
    assert "bob@example.com" in page
    assert "Needs reconnecting" in page
    assert "Connected" in page
    for secret in tokens(connected_world):
        assert secret not in page
    assert "sealed" not in page


def test_connections_are_searchable_filterable_and_read_only(ops, connected_world, bob):
    url = "/admin/credentials/oauthconnection/"
    found = ops.get(url, {"q": "bob@example"}).context["cl"].result_list
    assert [c.user.email for c in found] == ["bob@example.com"]
    by_state = ops.get(url, {"state__exact": "connected"}).context["cl"].result_list
    assert [c.user.email for c in by_state] == ["alice@example.com"]
    connection = OAuthConnection.objects.get(user=bob)
    page = ops.get(f"{url}{connection.pk}/change/").content.decode()
    assert "invalid_grant" in page
    for secret in tokens(connected_world):
        assert secret not in page
    assert 'name="_save"' not in page
    assert ops.get(f"{url}{connection.pk}/delete/").status_code == 403
    assert ops.post(f"{url}{connection.pk}/change/", {"state": "connected"}).status_code == 403
    assert OAuthConnection.objects.get(user=bob).state == "needs_reconnect"
