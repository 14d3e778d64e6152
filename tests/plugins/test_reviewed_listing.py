"""What the storefront and the API show is what an operator reviewed.

A newer validated version changes the publisher's view, never the catalogue, until it is
approved; a URL the validator refused is never returned or rendered as a link; and making a
published private plugin public is a publication that waits for review.
"""

from __future__ import annotations

import json

import pytest

from plugins import review
from plugins.models import Plugin, ReviewState, Visibility
from tests.support.plugins import publish, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def published_v1(acme, alice):
    return publish(upload(acme, alice, name_for_human="Tidy Tasks"), alice)


def test_a_passing_unreviewed_version_does_not_change_the_listing(
    published_v1, acme, alice, client, alice_api, charlie_api
):
    upload(acme, alice, name_for_human="Crypto Doubler", description_for_human="Get rich quick")

    storefront = client.get("/plugins/").content.decode()
    page = client.get(f"/plugins/{published_v1.public_id}/").content.decode()
    home = client.get("/").content.decode()
    for html in (storefront, page, home):
        assert "Tidy Tasks" in html
        assert "Crypto Doubler" not in html
        assert "Get rich quick" not in html
    assert "Tidy Tasks" in client.get("/plugins/?q=tidy").content.decode()
    assert published_v1.public_id not in client.get("/plugins/?q=doubler").content.decode()

    others = charlie_api.get(f"/api/v1/plugins/{published_v1.pk}/").json()
    assert others["name"] == "Tidy Tasks"
    assert charlie_api.get("/api/v1/plugins/?q=doubler").json() == []
    assert alice_api.get(f"/api/v1/plugins/{published_v1.pk}/").json()["name"] == "Crypto Doubler"


def test_the_published_version_stays_listed_while_a_new_one_is_in_review(
    published_v1, acme, alice, client
):
    v2 = upload(acme, alice, name_for_human="Tidy Tasks Pro")
    review.submit_for_review(plugin=published_v1, version=v2.version, submitted_by=alice)

    listing = client.get("/plugins/").content.decode()
    assert "Tidy Tasks" in listing
    assert "Tidy Tasks Pro" not in listing

    review.approve_plugin(plugin=published_v1, reviewer=alice)

    assert "Tidy Tasks Pro" in client.get("/plugins/").content.decode()


def test_a_refused_url_is_never_returned_or_rendered_as_a_link(
    acme, alice, client, alice_api, charlie_api
):
    plugin = publish(
        upload(
            acme,
            alice,
            logo_url="javascript:alert(document.cookie)",
            legal_info_url="javascript:alert(1)",
        ),
        alice,
    )
    Plugin.objects.filter(pk=plugin.pk).update(logo_url="javascript:alert(2)")

    for html in (
        client.get("/plugins/").content.decode(),
        client.get(f"/plugins/{plugin.public_id}/").content.decode(),
    ):
        assert "javascript:" not in html
    body = charlie_api.get(f"/api/v1/plugins/{plugin.pk}/").json()
    assert body["logo_url"] is None
    assert "javascript:" not in json.dumps(body)
    owner = alice_api.get("/api/v1/plugins/").json()
    assert owner[0]["logo_url"] is None
    assert "javascript:" not in json.dumps(owner)


def test_the_api_returns_a_vetted_http_logo_url(acme, alice, charlie_api):
    plugin = publish(upload(acme, alice, logo_url="https://todo.demo.example/logo.png"), alice)

    body = charlie_api.get(f"/api/v1/plugins/{plugin.pk}/").json()

    assert body["logo_url"] == "https://todo.demo.example/logo.png"


def test_making_a_published_private_plugin_public_goes_through_review(
    acme, alice, client, charlie_api, web_as
):
    plugin = publish(upload(acme, alice, visibility="private"), alice)

    response = web_as(alice).post(
        f"/o/acme/plugins/{plugin.pk}/visibility/", {"visibility": "public"}
    )

    assert response.status_code == 302
    plugin.refresh_from_db()
    assert plugin.visibility == Visibility.PRIVATE
    assert plugin.requested_visibility == Visibility.PUBLIC
    assert plugin.review_state == ReviewState.PENDING
    assert plugin.candidate_version_id == plugin.published_version_id
    assert plugin.public_id not in client.get("/plugins/").content.decode()
    assert charlie_api.get(f"/api/v1/plugins/{plugin.pk}/").status_code == 404
    assert client.get(f"/plugins/{plugin.public_id}/").status_code == 404

    review.approve_plugin(plugin=plugin, reviewer=alice)

    plugin.refresh_from_db()
    assert plugin.visibility == Visibility.PUBLIC
    assert plugin.requested_visibility == ""
    assert plugin.public_id in client.get("/plugins/").content.decode()


def test_a_rejected_visibility_request_leaves_the_plugin_private(acme, alice):
    plugin = publish(upload(acme, alice, visibility="private"), alice)
    review.change_visibility(plugin=plugin, visibility="unlisted", changed_by=alice)

    review.reject_plugin(plugin=plugin, reviewer=alice, reason="Not ready for the public.")

    plugin.refresh_from_db()
    assert (plugin.visibility, plugin.requested_visibility) == (Visibility.PRIVATE, "")
    assert plugin.review_state == ReviewState.APPROVED  # still published to its own org


def test_narrowing_visibility_applies_at_once(published_v1, alice, client):
    review.change_visibility(plugin=published_v1, visibility="private", changed_by=alice)

    published_v1.refresh_from_db()
    assert published_v1.visibility == Visibility.PRIVATE
    assert published_v1.public_id not in client.get("/plugins/").content.decode()


def test_an_unpublished_plugin_changes_visibility_at_once(acme, alice):
    submission = upload(acme, alice, visibility="private")

    plugin = review.change_visibility(
        plugin=submission.plugin, visibility="public", changed_by=alice
    )

    assert (plugin.visibility, plugin.requested_visibility) == (Visibility.PUBLIC, "")
