"""The credential pages: the publisher's settings, each user's keys and connections."""

from __future__ import annotations

import urllib.parse

import pytest

from plugins.credentials import resolve_credential
from plugins.credentials.models import OAuthClient, OAuthConnection, ServiceCredential
from plugins.installations.services import install_plugin
from tests.installations.helpers import make_version


@pytest.fixture
def web(web_as, alice, acme):
    return web_as(alice)


def test_the_publisher_page_shows_the_redirect_uri_and_the_verification_token(acme, web):
    version = make_version(acme, slug="svc", auth={"type": "service_http"})
    page = web.get(f"/o/acme/plugins/{version.plugin_id}/credentials/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f"/oauth/callback/{version.plugin.public_id}" in body
    assert "mkpv_" in body
    assert "<script" not in body.split("</head>", 1)[1]  # no inline script under the CSP


def test_a_publisher_sets_and_replaces_the_service_key_on_the_page(acme, alice, web):
    version = make_version(acme, slug="svc", auth={"type": "service_http"})
    url = f"/o/acme/plugins/{version.plugin_id}/credentials/"
    response = web.post(url, {"form": "service", "token": "svc-page-key-12345678"})
    assert response.status_code == 302
    page = web.get(url).content.decode()
    assert "••••5678" in page
    assert "svc-page-key-12345678" not in page
    assert "alice@example.com" in page
    web.post(f"{url}service-key/delete/")
    assert not ServiceCredential.objects.exists()


def test_a_bad_service_key_is_refused_with_a_message_not_an_echo(acme, web):
    version = make_version(acme, slug="svc", auth={"type": "service_http"})
    response = web.post(
        f"/o/acme/plugins/{version.plugin_id}/credentials/",
        {"form": "service", "token": "evil\r\nX-Injected: 1"},
    )
    assert response.status_code == 200
    assert b"line breaks or control characters" in response.content
    assert b"X-Injected" not in response.content
    assert not ServiceCredential.objects.exists()


def test_a_publisher_sets_the_oauth_client_on_the_page(acme, web):
    version = make_version(acme, slug="cal", auth={"type": "oauth"})
    url = f"/o/acme/plugins/{version.plugin_id}/credentials/"
    response = web.post(
        url,
        {
            "form": "oauth",
            "client_id": "cal",
            "client_secret": "cal-secret-from-page-9876",
            "scopes": "read write",
            "auth_method": "client_secret_basic",
            "token_content_type": "",
            "revocation_url": "",
            "issuer": "",
        },
    )
    assert response.status_code == 302
    client = OAuthClient.objects.get()
    assert client.auth_method == "client_secret_basic"
    page = web.get(url).content.decode()
    assert "••••9876" in page
    assert "cal-secret-from-page" not in page


def test_a_user_enters_replaces_and_deletes_their_key_on_the_page(acme, alice, web):
    installation = install_plugin(
        organization=acme,
        version=make_version(acme, slug="usr", auth={"type": "user_http"}),
        installed_by=alice,
    )
    url = f"/o/acme/installations/{installation.pk}/credentials/"
    assert b"not entered a key" in web.get(url).content
    assert web.post(url, {"token": "usr-page-key-abcdefgh"}).status_code == 302
    page = web.get(url).content.decode()
    assert "••••efgh" in page
    assert "usr-page-key" not in page
    assert resolve_credential(installation=installation, user=alice).headers == {
        "Authorization": "Bearer usr-page-key-abcdefgh"
    }
    overview = web.get("/o/acme/credentials/").content.decode()
    assert "key set" in overview
    web.post(f"{url}key/delete/")
    assert b"not entered a key" in web.get(url).content


def test_a_user_connects_reconnects_and_disconnects_from_the_page(make_world, alice, web):
    world = make_world()
    url = f"/o/acme/installations/{world.installation.pk}/credentials/"
    page = web.get(url)
    assert b"Not connected" in page.content
    link = page.context["connect_url"]
    assert "/oauth/start/" in link
    assert web.get(url).context["connect_url"] == link  # one open link, reused
    to_provider = web.get(urllib.parse.urlsplit(link).path)
    assert to_provider["Location"].startswith(world.server.url("/auth?"))
    back = web.get(world.local(world.authorize(to_provider["Location"])))
    assert back["Location"] == url
    page = web.get(url).content.decode()
    assert "connected" in page
    assert "Reconnect" in page
    assert "todo:read" in page
    web.post(f"/o/acme/installations/{world.installation.pk}/disconnect/")
    assert not OAuthConnection.objects.exists()
    assert b"Not connected" in web.get(url).content


def test_an_admin_adds_a_webhook_and_sees_its_secret_once(acme, web):
    response = web.post("/o/acme/webhooks/", {"url": "https://hooks.example.com/x"})
    secret = response.context["new_secret"]
    assert secret.encode() in response.content
    listing = web.get("/o/acme/webhooks/").content.decode()
    assert "https://hooks.example.com/x" in listing
    assert secret not in listing
    assert secret[-4:] in listing  # the hint


def test_a_webhook_to_a_private_address_is_refused(acme, web):
    response = web.post("/o/acme/webhooks/", {"url": "http://10.0.0.1/hook"})
    assert response.status_code == 200
    assert b"private" in response.content


def test_the_stable_connect_link_starts_the_flow_for_the_logged_in_user(make_world, alice, web):
    world = make_world()
    response = web.get(f"/o/acme/installations/{world.installation.pk}/connect/")
    assert response.status_code == 302
    assert "/oauth/start/" in response["Location"]
    to_provider = web.get(urllib.parse.urlsplit(response["Location"]).path)
    back = web.get(world.local(world.authorize(to_provider["Location"])))
    assert back["Location"] == f"/o/acme/installations/{world.installation.pk}/credentials/"
    assert resolve_credential(installation=world.installation, user=alice).headers
