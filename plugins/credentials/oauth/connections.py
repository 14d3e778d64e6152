"""Connection rows: store tokens, record failures, move between health states.

    connected        tokens work (or will after a refresh)
    refreshing       a refresh is in flight (visible to the user; the lock serialises it)
    needs_reconnect  the provider refused the grant (invalid_grant, revoked): calls fail fast
                     with the connect URL until the user reconnects
    error            the provider is failing (5xx, timeout, malformed answers): no refresh
                     before `retry_after` (exponential cooldown) and at most DAILY_BUDGET
                     attempts a day, so a dead provider cannot cause a retry storm

Transitions into needs_reconnect/error and back to connected notify the organization's
webhooks and are audited.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from accounts.audit import record_event
from plugins import vault
from plugins.credentials import cache
from plugins.credentials.announce import notify
from plugins.credentials.models import ConnectionState, OAuthConnection, WebhookEvent
from plugins.credentials.oauth.protocol import TokenError, TokenSet

DAILY_BUDGET = 20
FIRST_COOLDOWN = 30  # seconds
MAX_COOLDOWN = 3600


def snapshot(connection: OAuthConnection) -> dict:
    """What the hot path needs, as cached: sealed values only."""
    return {
        "id": connection.pk,
        "org": connection.organization_id,
        "user": connection.user_id,
        "installation": connection.installation_id,
        "state": connection.state,
        "access": connection.sealed_access_token,
        "data": connection.sealed_token_data,
        "token_type": connection.token_type,
        "generation": connection.generation,
        "expires_at": connection.expires_at.timestamp() if connection.expires_at else None,
        "retry_after": connection.retry_after.timestamp() if connection.retry_after else None,
    }


def publish(connection: OAuthConnection) -> dict:
    """Cache the connection's snapshot once the current transaction commits."""
    entry = snapshot(connection)
    cache.put_on_commit(cache.oauth_key(connection.installation_id, connection.user_id), entry)
    return entry


def store_tokens(
    connection: OAuthConnection, tokens: TokenSet, *, refreshed: bool, previous_state: str = ""
) -> None:
    """Seal and save new tokens. A refresh answer without a refresh token keeps the old one.

    The row must already exist (its id is part of the sealed values' context).
    `previous_state` is the state before a refresh marked the row `refreshing`."""
    previous_state = previous_state or connection.state
    now = timezone.now()
    connection.sealed_access_token = vault.seal(
        tokens.access_token, context=connection.vault_context("access_token")
    )
    if tokens.refresh_token:
        connection.sealed_refresh_token = vault.seal(
            tokens.refresh_token, context=connection.vault_context("refresh_token")
        )
    elif not refreshed:
        connection.sealed_refresh_token = ""
    connection.sealed_token_data = vault.seal(
        json.dumps(tokens.data), context=connection.vault_context("token_data")
    )
    connection.token_type = tokens.token_type
    connection.expires_at = (
        datetime.fromtimestamp(tokens.expires_at, tz=UTC) if tokens.expires_at else None
    )
    if tokens.scope:
        connection.scopes = tokens.scope
    connection.generation += 1
    connection.state = ConnectionState.CONNECTED
    connection.last_error = ""
    connection.retry_after = None
    if refreshed:
        connection.last_refreshed_at = now
    else:
        connection.connected_at = now
        connection.failures_today = 0
    connection.save()
    if previous_state in {ConnectionState.ERROR, ConnectionState.NEEDS_RECONNECT}:
        _announce(connection, WebhookEvent.CONNECTION_RECOVERED, previous_state)
    publish(connection)


def record_failure(
    connection: OAuthConnection, error: TokenError, *, previous_state: str = ""
) -> None:
    previous_state = previous_state or connection.state
    now = timezone.now()
    connection.last_error = error.message[:300]
    if error.kind == "invalid_grant":
        connection.state = ConnectionState.NEEDS_RECONNECT
        connection.retry_after = None
    else:
        today = now.date()
        if connection.failures_day != today:
            connection.failures_day = today
            connection.failures_today = 0
        connection.failures_today += 1
        connection.state = ConnectionState.ERROR
        if connection.failures_today >= DAILY_BUDGET:
            tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
            connection.retry_after = tomorrow
        else:
            cooldown = min(FIRST_COOLDOWN * 2 ** (connection.failures_today - 1), MAX_COOLDOWN)
            connection.retry_after = now + timedelta(seconds=cooldown)
    connection.save()
    if connection.state != previous_state:
        record_event(
            organization=connection.organization,
            action=f"oauth.{connection.state}",
            actor=None,
            actor_label="oauth broker",
            target=f"connection:{connection.pk}",
            installation=connection.installation_id,
            user=connection.user_id,
            reason=error.message[:200],
        )
    if connection.state != previous_state:
        _announce(connection, WebhookEvent.CONNECTION_FAILING, previous_state)
    publish(connection)


def _announce(connection: OAuthConnection, event: str, previous_state: str) -> None:
    notify(
        organization_id=connection.organization_id,
        event=event,
        payload={
            "connection": connection.pk,
            "installation": connection.installation_id,
            "plugin": connection.installation.plugin.public_id,
            "user": connection.user.email,
            "state": connection.state,
            "previous_state": previous_state,
            "reason": connection.last_error,
        },
    )
