"""Sealed credentials, OAuth clients and connections, pending connect flows, webhooks.

Every `sealed_*` field holds a vault value (plugins.vault) bound to the context its model's
`vault_context(field)` returns; `plugins/credentials/sealed.py` lists them for key rotation.
Hints (`••••abcd`) are stored at entry so that showing one never opens the vault.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Organization


class ServiceCredential(models.Model):
    """The publisher's key for a service_http plugin, sent with every user's calls."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="service_credentials"
    )
    plugin = models.OneToOneField(
        "plugins.Plugin", on_delete=models.CASCADE, related_name="service_credential"
    )
    sealed_token = models.TextField(editable=False)
    hint = models.CharField(max_length=16, editable=False)
    unreadable_since = models.DateTimeField(
        null=True, blank=True, help_text="The stored value stopped decrypting: re-enter it."
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"service key of {self.plugin_id}"

    def vault_context(self, field: str = "token") -> dict:
        return {
            "org": self.organization_id,
            "owner": f"plugin:{self.plugin_id}",
            "plugin": self.plugin_id,
            "field": "service_token",
        }


def new_verification_token() -> str:
    return "mkpv_" + secrets.token_urlsafe(24)


class VerificationToken(models.Model):
    """What the publisher puts in `auth.verification_tokens` to show it controls the plugin."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="verification_tokens"
    )
    plugin = models.OneToOneField(
        "plugins.Plugin", on_delete=models.CASCADE, related_name="verification_token"
    )
    token = models.CharField(max_length=64, unique=True, default=new_verification_token)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"verification token of {self.plugin_id}"


class UserCredential(models.Model):
    """One user's own key for one installation of a user_http plugin."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="user_credentials"
    )
    installation = models.ForeignKey(
        "installations.Installation", on_delete=models.CASCADE, related_name="user_credentials"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plugin_credentials"
    )
    sealed_token = models.TextField(editable=False)
    hint = models.CharField(max_length=16, editable=False)
    unreadable_since = models.DateTimeField(
        null=True, blank=True, help_text="The stored value stopped decrypting: re-enter it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "user"], name="one_user_credential_per_installation"
            ),
        ]

    def __str__(self) -> str:
        return f"key of user {self.user_id} for installation {self.installation_id}"

    def vault_context(self, field: str = "token") -> dict:
        return {
            "org": self.organization_id,
            "owner": f"user:{self.user_id}",
            "installation": self.installation_id,
            "field": "user_token",
        }


class TokenContentType(models.TextChoices):
    FORM = "form", "application/x-www-form-urlencoded"
    JSON = "json", "application/json"


class ClientAuthMethod(models.TextChoices):
    POST = "client_secret_post", "Client id and secret in the request body"
    BASIC = "client_secret_basic", "HTTP Basic authentication"


class OAuthClient(models.Model):
    """The publisher's OAuth client at its provider; endpoints come from the plugin's manifest
    unless set here."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="oauth_clients"
    )
    plugin = models.OneToOneField(
        "plugins.Plugin", on_delete=models.CASCADE, related_name="oauth_client"
    )
    client_id = models.CharField(max_length=255)
    sealed_client_secret = models.TextField(editable=False, blank=True)
    secret_hint = models.CharField(max_length=16, editable=False, blank=True)
    scopes = models.CharField(max_length=1000, blank=True)
    auth_method = models.CharField(
        max_length=32, choices=ClientAuthMethod.choices, default=ClientAuthMethod.POST
    )
    token_content_type = models.CharField(
        max_length=8,
        choices=TokenContentType.choices,
        blank=True,
        help_text="Empty: as the manifest says (form when it says nothing).",
    )
    json_refused = models.BooleanField(
        default=False,
        help_text="The provider refused a JSON token request once: always send a form since.",
    )
    revocation_url = models.URLField(max_length=1000, blank=True)
    issuer = models.CharField(
        max_length=1000, blank=True, help_text="Expected `iss` on callbacks (RFC 9207)."
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"OAuth client of {self.plugin_id}"

    def vault_context(self, field: str = "client_secret") -> dict:
        return {
            "org": self.organization_id,
            "owner": f"plugin:{self.plugin_id}",
            "plugin": self.plugin_id,
            "field": "client_secret",
        }


class ConnectionState(models.TextChoices):
    CONNECTED = "connected", "Connected"
    REFRESHING = "refreshing", "Refreshing"
    NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"
    ERROR = "error", "Provider failing (retrying later)"


class OAuthConnection(models.Model):
    """One user's tokens for one installation of an oauth plugin."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="oauth_connections"
    )
    installation = models.ForeignKey(
        "installations.Installation", on_delete=models.CASCADE, related_name="oauth_connections"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_connections"
    )
    state = models.CharField(
        max_length=16, choices=ConnectionState.choices, default=ConnectionState.CONNECTED
    )
    sealed_access_token = models.TextField(editable=False, blank=True)
    sealed_refresh_token = models.TextField(editable=False, blank=True)
    sealed_token_data = models.TextField(
        editable=False, blank=True, help_text="The token response minus the tokens (auth.data)."
    )
    token_type = models.CharField(max_length=32, default="Bearer")
    generation = models.PositiveIntegerField(
        default=0, help_text="Incremented each time new tokens are stored."
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=1000, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    failures_today = models.PositiveSmallIntegerField(default=0)
    failures_day = models.DateField(null=True, blank=True)
    retry_after = models.DateTimeField(
        null=True, blank=True, help_text="No refresh is attempted before this (cooldown)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "user"], name="one_oauth_connection_per_installation"
            ),
        ]

    def __str__(self) -> str:
        return f"connection {self.pk} ({self.state})"

    def vault_context(self, field: str) -> dict:
        return {
            "org": self.organization_id,
            "owner": f"user:{self.user_id}",
            "installation": self.installation_id,
            "connection": self.pk,
            "field": field,
        }


def new_flow_key() -> str:
    return secrets.token_urlsafe(24)


class OAuthFlow(models.Model):
    """A connect flow started for one user and installation: single use, short-lived.

    `key` is in the connect URL the API hands out (valid until `expires_at`). When the user
    opens it, a fresh `state` and PKCE verifier are issued: `state_hash` is the state's SHA-256
    (the database never holds a usable state), the verifier is sealed, and the state is good
    for STATE_LIFETIME after `started_at`, once.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="oauth_flows"
    )
    installation = models.ForeignKey(
        "installations.Installation", on_delete=models.CASCADE, related_name="oauth_flows"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_flows"
    )
    key = models.CharField(max_length=64, unique=True, default=new_flow_key)
    state_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    sealed_verifier = models.TextField(editable=False, blank=True)
    return_to = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="The connect link works until then.")
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the user was sent to the provider (state issued)."
    )
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["installation", "user", "used_at"])]

    def __str__(self) -> str:
        return f"connect flow {self.pk}"

    def vault_context(self, field: str = "verifier") -> dict:
        return {
            "org": self.organization_id,
            "owner": f"user:{self.user_id}",
            "installation": self.installation_id,
            "flow": self.state_hash,
            "field": "pkce_verifier",
        }


class WebhookEvent(models.TextChoices):
    CONNECTION_FAILING = "connection.failing", "A connection needs reconnecting or is failing"
    CONNECTION_RECOVERED = "connection.recovered", "A connection works again"


class Webhook(models.Model):
    """An organization's endpoint that hears about connections failing and recovering."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=1000)
    sealed_secret = models.TextField(editable=False)
    secret_hint = models.CharField(max_length=16, editable=False)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"webhook {self.pk}"

    def vault_context(self, field: str = "secret") -> dict:
        return {"org": self.organization_id, "owner": f"webhook:{self.pk}", "field": "secret"}


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"


class WebhookDelivery(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["status"], condition=Q(status="pending"), name="webhook_delivery_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} to webhook {self.webhook_id}"
