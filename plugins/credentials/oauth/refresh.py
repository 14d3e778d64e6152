"""Refresh a connection's tokens: ahead of expiry, or forced after a 401, exactly once.

Callers that find a refresh due take the connection's lock, then look again (the cache first,
then the row): if the generation moved on, someone else refreshed while they waited and they
use that. The winner marks the row `refreshing`, asks the provider, and saves the answer
(a rotated refresh token included) before releasing the lock: reusing a rotated refresh token
would make a real provider revoke the whole grant.
"""

from __future__ import annotations

import contextlib
import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from plugins import vault
from plugins.credentials import cache
from plugins.credentials.models import ConnectionState, OAuthClient, OAuthConnection
from plugins.credentials.oauth import protocol
from plugins.credentials.oauth.config import NotConfigured, provider_config
from plugins.credentials.oauth.connections import publish, record_failure, snapshot, store_tokens
from plugins.credentials.oauth.lock import connection_lock
from plugins.credentials.oauth.protocol import TokenError

logger = logging.getLogger(__name__)

REFRESH_MARGIN = 120  # seconds before expiry at which a token is refreshed


def is_due(entry: dict, now: float | None = None) -> bool:
    expires_at = entry.get("expires_at")
    if expires_at is None:
        return False
    return expires_at - REFRESH_MARGIN <= (now if now is not None else time.time())


def is_expired(entry: dict, now: float | None = None) -> bool:
    expires_at = entry.get("expires_at")
    return expires_at is not None and expires_at <= (now if now is not None else time.time())


def in_cooldown(entry: dict, now: float | None = None) -> bool:
    retry_after = entry.get("retry_after")
    return retry_after is not None and retry_after > (now if now is not None else time.time())


def refresh_connection(*, entry: dict, forced: bool = False) -> dict:
    """Refresh the connection `entry` (a snapshot) describes, unless someone already did.

    Returns the connection's snapshot after the attempt; the caller reads its state."""
    seen = entry["generation"]
    key = cache.oauth_key(entry["installation"], entry["user"])
    with connection_lock(entry["id"]):
        cached = cache.get(key)
        if cached is not None and cached["id"] == entry["id"] and cached["generation"] != seen:
            return cached
        use_row_lock = not settings.REDIS_URL
        with transaction.atomic() if use_row_lock else contextlib.nullcontext():
            rows = OAuthConnection.objects.select_related(
                "organization", "user", "installation__plugin", "installation__version"
            ).filter(pk=entry["id"])
            if use_row_lock:
                rows = rows.select_for_update(of=("self",))
            connection = rows.first()
            if connection is None:
                cache.drop_on_commit(key)
                return {**entry, "state": "gone"}
            current = snapshot(connection)
            if connection.generation != seen or connection.state == ConnectionState.NEEDS_RECONNECT:
                return publish(connection)
            if not forced and not is_due(current) and connection.state != ConnectionState.ERROR:
                return publish(connection)
            if connection.state == ConnectionState.ERROR and in_cooldown(current):
                return publish(connection)
            return _refresh(connection)


def _refresh(connection: OAuthConnection) -> dict:
    before = connection.state
    if before == ConnectionState.REFRESHING:
        before = ConnectionState.CONNECTED  # its last holder died mid-refresh
    # Shown to the user while the provider answers; only if the row is still what we read.
    OAuthConnection.objects.filter(pk=connection.pk, generation=connection.generation).update(
        state=ConnectionState.REFRESHING, updated_at=timezone.now()
    )
    outcome: TokenError | object
    try:
        outcome = _ask_provider(connection)
    except TokenError as error:
        logger.info("oauth connection %s: refresh failed (%s)", connection.pk, error.kind)
        outcome = error
    with transaction.atomic():
        current = (
            OAuthConnection.objects.select_for_update(of=("self",))
            .select_related("organization", "user", "installation__plugin")
            .filter(pk=connection.pk)
            .first()
        )
        if current is None:  # disconnected meanwhile
            return {**snapshot(connection), "state": "gone"}
        if current.generation != connection.generation:
            # The user reconnected while we asked the provider: theirs is newer, keep it.
            return publish(current)
        if isinstance(outcome, TokenError):
            record_failure(current, outcome, previous_state=before)
        else:
            store_tokens(current, outcome, refreshed=True, previous_state=before)
    # Publish now as well: the waiters behind this lock read the cache first.
    entry = snapshot(current)
    cache.put(cache.oauth_key(current.installation_id, current.user_id), entry)
    return entry


def _ask_provider(connection: OAuthConnection):
    if not connection.sealed_refresh_token:
        raise TokenError("invalid_grant", "The provider gave no refresh token: reconnect.")
    try:
        refresh_token = vault.open_sealed(
            connection.sealed_refresh_token, context=connection.vault_context("refresh_token")
        )
    except vault.CredentialUnreadable as exc:
        raise TokenError("invalid_grant", "The stored refresh token is unreadable.") from exc
    try:
        config = provider_config(installation=connection.installation)
    except NotConfigured as exc:
        raise TokenError("invalid_client", str(exc)) from None
    except vault.CredentialUnreadable:
        raise TokenError(
            "invalid_client", "The plugin's OAuth client secret is unreadable."
        ) from None

    def remember_form_only():
        OAuthClient.objects.filter(plugin_id=connection.installation.plugin_id).update(
            json_refused=True
        )

    try:
        return protocol.refresh(
            config, refresh_token=refresh_token, on_json_refused=remember_form_only
        )
    except TokenError:
        raise
    except Exception:
        logger.exception("oauth connection %s: unexpected refresh failure", connection.pk)
        raise TokenError("transient", "The refresh failed unexpectedly.") from None
