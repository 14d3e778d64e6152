"""Reads for pages and the API: what is set, its hint, when and by whom. Never plaintext."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from plugins.credentials.models import (
    OAuthClient,
    OAuthConnection,
    ServiceCredential,
    UserCredential,
    VerificationToken,
    Webhook,
)
from plugins.credentials.schemes import auth_block, auth_type, scheme_for


@dataclass(frozen=True)
class KeyStatus:
    set: bool
    hint: str = ""
    updated_at: datetime | None = None
    last_used_at: datetime | None = None
    set_by: str = ""
    unreadable: bool = False


def service_credential_status(*, plugin) -> KeyStatus:
    row = ServiceCredential.objects.filter(plugin=plugin).select_related("set_by").first()
    if row is None:
        return KeyStatus(set=False)
    return KeyStatus(
        set=True,
        hint=row.hint,
        updated_at=row.updated_at,
        set_by=row.set_by.email if row.set_by else "",
        unreadable=row.unreadable_since is not None,
    )


def user_credential_status(*, installation, user) -> KeyStatus:
    row = UserCredential.objects.filter(installation=installation, user=user).first()
    if row is None:
        return KeyStatus(set=False)
    return KeyStatus(
        set=True,
        hint=row.hint,
        updated_at=row.updated_at,
        last_used_at=row.last_used_at,
        unreadable=row.unreadable_since is not None,
    )


def oauth_client_of(*, plugin) -> OAuthClient | None:
    return OAuthClient.objects.filter(plugin=plugin).first()


def connection_of(*, installation, user) -> OAuthConnection | None:
    return OAuthConnection.objects.filter(
        organization_id=installation.organization_id, installation=installation, user=user
    ).first()


def connection_status(*, installation, user) -> dict:
    """The REST shape of GET …/connection."""
    row = connection_of(installation=installation, user=user)
    if row is None:
        return {
            "state": "not_connected",
            "expires_at": None,
            "scopes": [],
            "connected_at": None,
            "last_refreshed_at": None,
            "last_error": "",
        }
    return {
        "state": row.state,
        "expires_at": row.expires_at,
        "scopes": row.scopes.split(),
        "connected_at": row.connected_at,
        "last_refreshed_at": row.last_refreshed_at,
        "last_error": row.last_error,
    }


def verification_status(*, plugin) -> dict:
    """Our verification token for the plugin and whether its newest version's manifest
    carries it in `auth.verification_tokens`."""
    token = VerificationToken.objects.filter(plugin=plugin).first()
    version = plugin.versions.filter(validated_at__isnull=False).order_by("-created_at").first()
    found = False
    if token is not None and version is not None:
        tokens = auth_block(version).get("verification_tokens") or {}
        found = isinstance(tokens, dict) and token.token in tokens.values()
    return {
        "token": token.token if token else "",
        "found_in_version": version.number if (version and found) else None,
        "found": found,
        "checked_version": version.number if version else None,
    }


def needed_credential(*, version) -> dict:
    """What an installation of `version` needs from users: type and, for keys, the scheme."""
    kind = auth_type(version)
    info = {"type": kind}
    if kind in {"service_http", "user_http"}:
        info["scheme"] = scheme_for(version).as_dict()
    return info


def webhooks_of(*, organization):
    return Webhook.objects.filter(organization=organization)
