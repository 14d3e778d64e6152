"""Helpers for connection tests: age a token, read the provider's view."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from plugins.credentials import cache as credential_cache
from plugins.credentials.models import OAuthConnection


def expire_access_token(installation, user) -> OAuthConnection:
    """Make the stored access token look expired (the provider's token still works)."""
    connection = OAuthConnection.objects.get(installation=installation, user=user)
    connection.expires_at = timezone.now() - timedelta(seconds=5)
    connection.save(update_fields=["expires_at"])
    cache.delete(credential_cache.oauth_key(installation.pk, user.pk))
    return connection


def connection_of(installation, user) -> OAuthConnection:
    return OAuthConnection.objects.get(installation=installation, user=user)
