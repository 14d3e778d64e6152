"""The connect flow: a link bound to one user and installation, the redirect to the
provider, and the callback.

    connect_url_for(installation=, user=)   the marketplace page that starts the flow
    begin(key=, user=)                      -> the provider's authorization URL
    complete(plugin_public_id=, params=, user=) -> (installation, return_to)

The callback is refused (and audited) when its state is unknown, used already, expired,
belongs to another user, or was issued for another plugin; when `iss` (RFC 9207) names another
issuer; and when the provider answered with an error. Nothing is stored unless the code
exchange produced a usable token response.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.audit import record_event
from plugins import vault
from plugins.credentials.models import OAuthClient, OAuthConnection, OAuthFlow
from plugins.credentials.oauth import protocol
from plugins.credentials.oauth.config import NotConfigured, provider_config
from plugins.credentials.oauth.connections import store_tokens
from plugins.credentials.oauth.lock import connection_lock
from plugins.credentials.oauth.protocol import TokenError

logger = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(hours=1)
STATE_LIFETIME = timedelta(minutes=10)
REUSE_LINK_WHILE = timedelta(minutes=30)


class FlowRefused(Exception):
    """The flow cannot go on; `message` is safe to show. `not_found` pages are 404s."""

    def __init__(self, message: str, *, not_found: bool = False):
        super().__init__(message)
        self.message = message
        self.not_found = not_found


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def safe_return_path(value: str | None) -> str:
    """A path on this site, or ""."""
    if not value or len(value) > 500 or not value.startswith("/") or value.startswith("//"):
        return ""
    if "\\" in value or any(ord(c) < 0x20 for c in value):
        return ""
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=set()):
        return ""
    return value


def start_flow(*, installation, user, return_to: str = "") -> OAuthFlow:
    return OAuthFlow.objects.create(
        organization_id=installation.organization_id,
        installation=installation,
        user=user,
        return_to=safe_return_path(return_to),
        expires_at=timezone.now() + LINK_LIFETIME,
    )


def link_for(flow: OAuthFlow) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("oauth-start", kwargs={"key": flow.key})


def connect_url_for(*, installation, user, return_to: str = "") -> str:
    """A connect link for the user: an unused one with time left, else a new one."""
    now = timezone.now()
    flow = (
        OAuthFlow.objects.filter(
            installation=installation,
            user=user,
            used_at__isnull=True,
            started_at__isnull=True,
            expires_at__gt=now + REUSE_LINK_WHILE,
            return_to=safe_return_path(return_to),
        )
        .order_by("-expires_at")
        .first()
    )
    if flow is None:
        flow = start_flow(installation=installation, user=user, return_to=return_to)
    return link_for(flow)


def _flow_for_user(key: str, user) -> OAuthFlow:
    flow = (
        OAuthFlow.objects.select_related(
            "organization", "installation__plugin", "installation__version"
        )
        .filter(key=key)
        .first()
    )
    if flow is None or flow.user_id != user.pk:
        if flow is not None:
            _refused(flow, user, "connect link of another user")
        raise FlowRefused("This connect link does not exist.", not_found=True)
    return flow


def begin(*, key: str, user) -> str:
    """Issue a fresh state and verifier for the flow and answer the provider's URL."""
    flow = _flow_for_user(key, user)
    now = timezone.now()
    if flow.used_at is not None or flow.expires_at <= now:
        raise FlowRefused("This connect link has expired or was used: start again.")
    try:
        config = provider_config(installation=flow.installation)
    except NotConfigured as exc:
        raise FlowRefused(str(exc)) from None
    except vault.CredentialUnreadable:
        raise FlowRefused("The plugin's OAuth client settings need to be re-entered.") from None
    state, verifier = protocol.new_state(), protocol.new_verifier()
    flow.state_hash = state_hash(state)
    flow.started_at = now
    flow.sealed_verifier = vault.seal(verifier, context=flow.vault_context())
    flow.save(update_fields=["state_hash", "started_at", "sealed_verifier"])
    return protocol.authorization_url(config, state=state, verifier=verifier)


def complete(*, plugin_public_id: str, params, user):
    """Finish the flow the callback's `state` names; returns (installation, return_to)."""
    state = params.get("state") or ""
    flow = None
    if state and len(state) < 500:
        flow = (
            OAuthFlow.objects.select_related(
                "organization", "installation__plugin", "installation__version"
            )
            .filter(state_hash=state_hash(state))
            .first()
        )
    if flow is None:
        logger.info("oauth callback with an unknown state refused")
        raise FlowRefused("This sign-in attempt is unknown or has expired: start again.")
    if flow.installation.plugin.public_id != plugin_public_id:
        _refused(flow, user, "callback for another plugin")
        raise FlowRefused("This sign-in answer belongs to another plugin.")
    if flow.user_id != user.pk:
        _burn(flow)
        _refused(flow, user, "state of another user")
        raise FlowRefused("This sign-in attempt was started by someone else.")
    if not _burn(flow):
        _refused(flow, user, "state used already")
        raise FlowRefused("This sign-in answer was used already: start again.")
    if flow.started_at is None or flow.started_at + STATE_LIFETIME <= timezone.now():
        _refused(flow, user, "state expired")
        raise FlowRefused("This sign-in attempt took too long: start again.")
    try:
        config = provider_config(installation=flow.installation)
    except (NotConfigured, vault.CredentialUnreadable):
        raise FlowRefused("The plugin's OAuth client settings are incomplete.") from None
    error = params.get("error")
    if error:
        reason = "access_denied" if error == "access_denied" else "provider error"
        _refused(flow, user, reason, action="oauth.connect_failed")
        if error == "access_denied":
            raise FlowRefused("You did not allow access, so nothing was connected.")
        raise FlowRefused("The provider refused the sign-in, so nothing was connected.")
    issuer = params.get("iss")
    if issuer is not None and not _issuer_matches(issuer, config):
        _refused(flow, user, "unexpected issuer (mix-up)")
        raise FlowRefused("The sign-in answer came from an unexpected provider.")
    code = params.get("code") or ""
    if not code or len(code) > 2000:
        _refused(flow, user, "no code", action="oauth.connect_failed")
        raise FlowRefused("The provider's answer had no authorization code.")
    verifier = vault.open_sealed(flow.sealed_verifier, context=flow.vault_context())

    def remember_form_only():
        OAuthClient.objects.filter(plugin_id=flow.installation.plugin_id).update(json_refused=True)

    try:
        tokens = protocol.exchange_code(
            config, code=code, verifier=verifier, on_json_refused=remember_form_only
        )
        protocol.validate_token(config, access_token=tokens.access_token)
    except TokenError as exc:
        _refused(flow, user, exc.message, action="oauth.connect_failed")
        raise FlowRefused(f"Connecting failed: {exc.message}") from None
    _save_connection(flow, tokens)
    return flow.installation, flow.return_to


def _issuer_matches(issuer: str, config) -> bool:
    if config.issuer:
        return issuer == config.issuer
    # No issuer configured: it must be the origin (or a path prefix) the user was sent to.
    prefix = issuer.rstrip("/") + "/"
    return config.authorize_url.startswith(prefix)


def _save_connection(flow: OAuthFlow, tokens) -> OAuthConnection:
    connection, created = OAuthConnection.objects.get_or_create(
        installation=flow.installation,
        user=flow.user,
        defaults={"organization_id": flow.organization_id},
    )
    # A refresh of the old tokens may be in flight: wait for it, then replace them.
    with connection_lock(connection.pk), transaction.atomic():
        connection = (
            OAuthConnection.objects.select_for_update(of=("self",))
            .select_related("organization", "user", "installation__plugin")
            .get(pk=connection.pk)
        )
        connection.failures_today = 0
        connection.retry_after = None
        store_tokens(connection, tokens, refreshed=False)
        _audit_connected(flow, connection, created)
    return connection


def _audit_connected(flow: OAuthFlow, connection: OAuthConnection, created: bool) -> None:
    record_event(
        organization=flow.organization,
        action="oauth.connected" if created else "oauth.reconnected",
        actor=flow.user,
        target=f"connection:{connection.pk}",
        installation=flow.installation_id,
        scopes=connection.scopes,
    )


def _burn(flow: OAuthFlow) -> bool:
    """Mark the flow used; True only for the one caller that did."""
    return bool(
        OAuthFlow.objects.filter(pk=flow.pk, used_at__isnull=True).update(used_at=timezone.now())
    )


def _refused(flow: OAuthFlow, user, reason: str, *, action: str = "oauth.callback_refused"):
    record_event(
        organization=flow.organization,
        action=action,
        actor=user if getattr(user, "pk", None) else None,
        target=f"installation:{flow.installation_id}",
        flow_user=flow.user_id,
        reason=reason[:200],
    )
