"""Reconnect from wherever the connection shows: one POST (CSRF-checked) opens the connect flow
and the user comes back to the page they pressed it on."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from django.test import Client

from plugins.credentials.models import OAuthConnection


@pytest.fixture
def web(web_as, alice, acme):
    return web_as(alice)


def meta_refresh_target(html: str) -> str:
    (target,) = re.findall(r'<meta http-equiv="refresh" content="0;url=([^"]+)">', html)
    return target


def reconnect_from(web, world, page: str):
    answer = web.post(f"/o/acme/installations/{world.installation.pk}/reconnect/", {"next": page})
    assert answer.status_code == 200
    html = answer.content.decode()
    link = meta_refresh_target(html)
    assert f'href="{link}"' in html  # and a link, for a browser that ignores the refresh
    to_provider = web.get(urllib.parse.urlsplit(link).path)
    assert to_provider["Location"].startswith(world.server.url("/auth?"))
    return web.get(world.local(world.authorize(to_provider["Location"])))


def test_reconnect_on_my_credentials_page_goes_to_the_provider_and_back(make_world, alice, web):
    world = make_world()
    world.connect(alice, web=web)
    OAuthConnection.objects.filter(user=alice).update(state="needs_reconnect")
    page = web.get("/o/acme/credentials/").content.decode()
    assert "needs reconnecting" in page
    assert f'action="/o/acme/installations/{world.installation.pk}/reconnect/"' in page
    assert 'name="next" value="/o/acme/credentials/"' in page

    back = reconnect_from(web, world, "/o/acme/credentials/")
    assert back.status_code == 302
    assert back["Location"] == "/o/acme/credentials/"
    assert OAuthConnection.objects.get(user=alice).state == "connected"
    assert "Connected to Todo" in web.get(back["Location"]).content.decode()


def test_the_installation_page_shows_the_state_and_returns_there(make_world, alice, web):
    world = make_world()
    here = f"/o/acme/installations/{world.installation.pk}/?days=30"
    page = web.get(here).content.decode()
    assert "Your account connection:" in page
    assert "not connected" in page
    back = reconnect_from(web, world, here)
    assert back["Location"] == here
    assert "connected" in web.get(here).content.decode()


def test_reconnect_never_sends_the_user_off_site_and_needs_the_csrf_token(make_world, alice, web):
    world = make_world()
    back = reconnect_from(web, world, "https://evil.example/")
    assert back["Location"] == f"/o/acme/installations/{world.installation.pk}/credentials/"
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    refused = strict.post(f"/o/acme/installations/{world.installation.pk}/reconnect/")
    assert refused.status_code == 403


def test_outsiders_cannot_reconnect(make_world, web_as, charlie, globex):
    world = make_world()
    outsider = web_as(charlie)
    answer = outsider.post(f"/o/acme/installations/{world.installation.pk}/reconnect/")
    assert answer.status_code == 404
