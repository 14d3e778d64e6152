"""Disconnect: revoke at the provider when it has a revocation URL (RFC 7009), delete here."""

from __future__ import annotations

import logging

from django.db import transaction

from accounts.audit import record_event
from plugins import vault
from plugins.credentials import cache
from plugins.credentials.models import OAuthConnection
from plugins.credentials.oauth import protocol
from plugins.credentials.oauth.config import NotConfigured, provider_config
from plugins.credentials.oauth.lock import connection_lock

logger = logging.getLogger(__name__)


def disconnect(*, installation, user, actor=None) -> bool:
    """Remove `user`'s connection for `installation`; False when there was none."""
    connection = OAuthConnection.objects.filter(
        organization_id=installation.organization_id, installation=installation, user=user
    ).first()
    if connection is None:
        return False
    with connection_lock(connection.pk):
        revoked = _revoke_at_provider(connection, installation)
        with transaction.atomic():
            deleted, _ = OAuthConnection.objects.filter(pk=connection.pk).delete()
            if deleted:
                record_event(
                    organization=installation.organization,
                    action="oauth.disconnected",
                    actor=actor or user,
                    target=f"connection:{connection.pk}",
                    installation=installation.pk,
                    user=user.pk,
                    revoked_at_provider=revoked,
                )
        cache.drop_on_commit(cache.oauth_key(installation.pk, user.pk))
    return bool(deleted)


def disconnect_everyone(*, installation, actor=None) -> int:
    """Disconnect every member's connection to `installation` (it is being uninstalled)."""
    done = 0
    for connection in OAuthConnection.objects.filter(
        organization_id=installation.organization_id, installation=installation
    ).select_related("user"):
        done += disconnect(installation=installation, user=connection.user, actor=actor)
    return done


def _revoke_at_provider(connection: OAuthConnection, installation) -> bool:
    try:
        config = provider_config(installation=installation)
    except (NotConfigured, vault.CredentialUnreadable):
        return False
    if not config.revocation_url:
        return False
    revoked = False
    for field, hint in (("refresh_token", "refresh_token"), ("access_token", "access_token")):
        sealed = getattr(connection, f"sealed_{field}")
        if not sealed:
            continue
        try:
            token = vault.open_sealed(sealed, context=connection.vault_context(field))
        except vault.CredentialUnreadable:
            continue
        revoked = protocol.revoke(config, token=token, hint=hint) or revoked
    return revoked
