"""A plugin's provider settings: the publisher's OAuth client plus its manifest's endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.urls import reverse

from plugins import vault
from plugins.credentials.models import OAuthClient, TokenContentType
from plugins.credentials.schemes import auth_block


@dataclass(frozen=True)
class ProviderConfig:
    client_id: str
    client_secret: str = field(repr=False)
    auth_method: str
    authorize_url: str
    token_url: str
    redirect_uri: str
    scopes: str
    json_body: bool
    revocation_url: str
    issuer: str
    # OpenPlugin's tokenValidationUrl: a new access token must be accepted here (GET, bearer)
    # before the connection is saved.
    token_validation_url: str = ""


class NotConfigured(Exception):
    """The publisher has not set up the OAuth client, or the manifest lacks an endpoint."""


def redirect_uri_for(plugin) -> str:
    """The one redirect URI a publisher registers at its provider for this plugin."""
    path = reverse("oauth-callback", kwargs={"plugin_public_id": plugin.public_id})
    return settings.SITE_URL.rstrip("/") + path


def provider_config(*, installation) -> ProviderConfig:
    """The settings for `installation`'s plugin at its pinned version."""
    client = OAuthClient.objects.filter(plugin_id=installation.plugin_id).first()
    if client is None or not client.client_id:
        raise NotConfigured("The publisher has not set up this plugin's OAuth client yet.")
    auth = auth_block(installation.version)
    # OpenAI's manifest names: client_url is where users authorize, authorization_url is the
    # token endpoint.
    authorize_url = (auth.get("client_url") or "").strip()
    token_url = (auth.get("authorization_url") or "").strip()
    if not authorize_url or not token_url:
        raise NotConfigured("The plugin's manifest does not name its OAuth endpoints.")
    secret = (
        vault.open_sealed(client.sealed_client_secret, context=client.vault_context())
        if client.sealed_client_secret
        else ""
    )
    if client.token_content_type:
        json_body = client.token_content_type == TokenContentType.JSON
    else:
        declared = (auth.get("authorization_content_type") or "application/json").lower()
        json_body = declared.strip() == "application/json"
    if client.json_refused:
        json_body = False
    return ProviderConfig(
        client_id=client.client_id,
        client_secret=secret,
        auth_method=client.auth_method,
        authorize_url=authorize_url,
        token_url=token_url,
        redirect_uri=redirect_uri_for(installation.plugin),
        scopes=client.scopes or (auth.get("scope") or ""),
        json_body=json_body,
        revocation_url=client.revocation_url,
        issuer=client.issuer,
        token_validation_url=(auth.get("token_validation_url") or "").strip(),
    )
