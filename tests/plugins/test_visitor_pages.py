"""Visitors without a session get the storefront's pages whole from a cache
(plugins/visitor_pages.py): each with a CSRF token of their own, never a signed-in member's
page, never a stale listing."""

from __future__ import annotations

import re

import pytest
from csp.constants import NONCE
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from plugins import review
from plugins.models import Plugin
from tests.support.catalog import publish
from tests.support.trips_plugin import MANIFEST, openapi, publish_trips

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


def token_in(response) -> str:
    assert response.status_code == 200
    return TOKEN.search(response.content.decode()).group(1)


def served_from_cache(response) -> bool:
    """The test client records every template rendered for a response: none, for a whole page
    from the cache."""
    assert response.status_code == 200
    return response.templates == []


def pages_of(plugin) -> list[str]:
    return [f"/plugins/{plugin.public_id}/", "/plugins/", "/plugins/?q=weath"]


def logs_in_with(visitor: Client, token: str) -> int:
    """The status of a login form posted with `token` (403: the CSRF check refused it)."""
    return visitor.post(
        reverse("account_login"),
        {"login": "nobody@example.com", "password": "wrong", "csrfmiddlewaretoken": token},
    ).status_code


def test_a_second_visitor_gets_the_page_from_the_cache(globex):
    plugin = publish(globex, "Weather Now", description="Forecasts.")
    for path in pages_of(plugin):
        first = Client().get(path)
        again = Client().get(path)
        assert not served_from_cache(first), path
        assert served_from_cache(again), path
        assert "Weather Now" in again.content.decode()


def test_each_visitor_gets_a_csrf_token_of_their_own_that_works_for_them_only(globex):
    plugin = publish(globex, "Weather Now")
    for path in pages_of(plugin):
        first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
        rendered = token_in(first.get(path))
        cached = token_in(second.get(path))
        cached_again = token_in(second.get(path))
        assert len({rendered, cached, cached_again}) == 3, path

        assert logs_in_with(first, cached) == 403  # the other visitor's token
        assert logs_in_with(second, rendered) == 403
        assert logs_in_with(first, rendered) == 200  # the form again, with its error
        assert logs_in_with(second, cached) == 200
        assert logs_in_with(second, cached_again) == 200


def test_each_visitor_gets_their_own_csp_nonce(globex, settings, tmp_path):
    """Should a page use a nonce (none does today), it is never cached: every visitor's page
    carries the nonce of their own Content-Security-Policy header."""
    plugin = publish(globex, "Weather Now")
    base = (django_settings.BASE_DIR / "templates" / "base.html").read_text()
    (tmp_path / "base.html").write_text(
        base.replace(
            "{% block head %}",
            '<script nonce="{{ request.csp_nonce }}" src="/static/js/site.js"></script>'
            "{% block head %}",
        )
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    policy = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {**policy, "script-src": [*policy["script-src"], NONCE]}
    }
    for path in pages_of(plugin):
        nonces = []
        for _ in range(3):
            response = Client().get(path)
            nonce = re.search(r'<script nonce="([^"]+)"', response.content.decode()).group(1)
            assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]
            assert not served_from_cache(response)
            nonces.append(nonce)
        assert len(set(nonces)) == 3, path


@pytest.mark.parametrize("members_first", [False, True])
def test_signed_in_members_and_visitors_each_get_their_own_page(
    globex, acme, alice, web_as, members_first
):
    plugin = publish(globex, "Weather Now")
    member = web_as(alice)
    for path in pages_of(plugin):
        order = [member, Client()] if members_first else [Client(), member]
        pages = {client: client.get(path) for client in order}
        members_page, visitors_page = pages[member], pages[order[1] if members_first else order[0]]
        assert not served_from_cache(members_page)
        assert "alice@example.com" in members_page.content.decode()
        assert "alice@example.com" not in visitors_page.content.decode()
    member_plugin_page = member.get(pages_of(plugin)[0]).content.decode()
    assert "Install in Acme" in member_plugin_page
    assert "Log in to install" not in member_plugin_page
    assert "Install in Acme" not in Client().get(pages_of(plugin)[0]).content.decode()


def test_a_visitor_with_a_message_waiting_reads_it(globex, alice, web_as):
    plugin = publish(globex, "Weather Now")
    for path in pages_of(plugin):
        Client().get(path)  # cached
        leaving = web_as(alice)
        leaving.post(reverse("account_logout"))
        response = leaving.get(path)
        assert "You have signed out." in response.content.decode(), path
        assert not served_from_cache(response)


def test_another_organizations_private_plugin_never_comes_from_the_cache(
    globex, charlie, acme, alice, web_as
):
    publish(globex, "Weather Now")
    private = publish(globex, "Weather Secret", visibility="private")
    for client in (web_as(charlie), Client(), web_as(alice), Client()):
        for path in ("/plugins/", "/plugins/?q=weather", "/plugins/?q=weath"):
            html = client.get(path).content.decode()
            assert "Weather Now" in html
            assert "Weather Secret" not in html
        assert client.get(f"/plugins/{private.public_id}/").status_code == 404


def test_a_delisted_plugin_is_gone_from_the_cached_pages_at_once(
    globex, charlie, django_capture_on_commit_callbacks
):
    plugin = publish(globex, "Weather Now")
    page, *listings = pages_of(plugin)
    for path in pages_of(plugin):
        Client().get(path)
        assert served_from_cache(Client().get(path))

    with django_capture_on_commit_callbacks(execute=True):
        review.change_visibility(plugin=plugin, visibility="private", changed_by=charlie)

    assert Client().get(page).status_code == 404
    for path in listings:
        assert "Weather Now" not in Client().get(path).content.decode(), path


def test_a_suspended_plugin_is_gone_from_the_cached_pages_at_once(
    acme, alice, django_capture_on_commit_callbacks
):
    plugin = publish_trips(acme, alice)
    page, listing = f"/plugins/{plugin.public_id}/", "/plugins/?q=trip"
    for path in (page, listing, page, listing):
        assert "Trip Planner" in Client().get(path).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        review.suspend_plugin(plugin=plugin, reviewer=alice, reason="Abuse.")

    assert Client().get(page).status_code == 404
    assert "Trip Planner" not in Client().get(listing).content.decode()


def test_a_new_version_and_its_reviewed_listing_show_at_once(
    acme, alice, django_capture_on_commit_callbacks
):
    plugin = publish_trips(acme, alice)
    page, listing = f"/plugins/{plugin.public_id}/", "/plugins/?q=trip"
    for path in (page, listing, page, listing):
        html = Client().get(path).content.decode()
        assert "Trip Planner" in html
        assert "Trip Planner Pro" not in html
    assert "getWeather" not in Client().get(page).content.decode()

    spec = openapi(extra_operation=True)
    manifest = dict(MANIFEST, name_for_human="Trip Planner Pro")
    with django_capture_on_commit_callbacks(execute=True):
        publish_trips(acme, alice, manifest=manifest, spec=spec)

    assert Plugin.objects.get(pk=plugin.pk).listed_name == "Trip Planner Pro"
    html = Client().get(page).content.decode()
    assert "Trip Planner Pro" in html
    assert "getWeather" in html
    assert "Trip Planner Pro" in Client().get(listing).content.decode()


def test_a_page_cached_for_visitors_is_rendered_from_the_database_not_from_older_caches(
    globex, alice, acme, web_as
):
    """A page kept for a minute is not built from a fragment already up to a minute old."""
    plugin = publish(globex, "Weather Now")
    member = web_as(alice)
    for path in pages_of(plugin):
        assert "Weather Now" in member.get(path).content.decode()  # the members' caches
    Plugin.objects.filter(pk=plugin.pk).update(listed_name="Weather Later")  # behind their back

    for path in pages_of(plugin):
        assert "Weather Later" in Client().get(path).content.decode(), path
