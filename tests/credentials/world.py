"""An OAuth plugin installed in Acme, its provider a real oidc-provider on loopback: the
`make_world` fixture (registered for the whole suite in tests/conftest.py)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client

from plugins.credentials.oauth.config import redirect_uri_for
from plugins.credentials.services import set_oauth_client
from plugins.installations.integrity import pin_fields
from plugins.installations.models import Installation
from plugins.models import Plugin
from tests.credentials.oauth_server import OAuthServer
from tests.installations.helpers import make_version

CLIENT_ID = "todo-marketplace"
CLIENT_SECRET = "client-secret-canary-4f1d2c9a8b7e"


@dataclass
class World:
    server: OAuthServer
    plugin: Plugin
    installation: Installation

    def web(self, user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def connect(self, user, *, login_hint: str = "alice", web: Client | None = None):
        """Run the whole connect flow as `user`; answers the callback's response."""
        from plugins.credentials.oauth.flow import connect_url_for

        web = web or self.web(user)
        link = connect_url_for(installation=self.installation, user=user)
        started = web.get(urllib.parse.urlsplit(link).path)
        assert started.status_code == 302, started.status_code
        callback = self.authorize(started["Location"], login_hint=login_hint)
        return web.get(self.local(callback))

    def authorize(self, authorization_url: str, *, login_hint: str = "alice") -> str:
        back_to = settings.SITE_URL.rstrip("/") + "/oauth/callback/"
        return self.server.authorize(authorization_url, back_to=back_to, login_hint=login_hint)

    @staticmethod
    def local(url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        return f"{parts.path}?{parts.query}"


@pytest.fixture
def make_world(acme, alice):
    """make_world(**options) -> World. Options: auth_method, content_type, rotate,
    access_ttl, revocation, scopes, token_validation_url."""
    servers = []

    def make(
        *,
        auth_method: str = "client_secret_post",
        content_type: str = "application/x-www-form-urlencoded",
        rotate: bool = True,
        access_ttl: int = 3600,
        revocation: bool = True,
        scopes: str = "todo:read",
        token_validation_url: str = "",
    ) -> World:
        plugin = Plugin.objects.create(organization=acme, slug="todo", name="Todo")
        client = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [redirect_uri_for(plugin)],
            "token_endpoint_auth_method": auth_method,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        }
        server = OAuthServer(clients=[client], rotate_refresh_token=rotate, access_ttl=access_ttl)
        server.__enter__()
        servers.append(server)
        version = make_version(
            acme,
            plugin=plugin,
            auth={
                "type": "oauth",
                "client_url": server.url("/auth"),
                "authorization_url": server.url("/token"),
                "scope": scopes,
                "authorization_content_type": content_type,
                **({"token_validation_url": token_validation_url} if token_validation_url else {}),
            },
        )
        set_oauth_client(
            plugin=plugin,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            auth_method=auth_method,
            revocation_url=server.url("/token/revocation") if revocation else "",
            set_by=alice,
        )
        installation = Installation.objects.create(
            organization=acme,
            plugin=plugin,
            version=version,
            installed_by=alice,
            **pin_fields(version),
        )
        return World(server=server, plugin=plugin, installation=installation)

    yield make
    for server in servers:
        server.__exit__(None, None, None)
