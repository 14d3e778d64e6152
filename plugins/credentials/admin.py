"""Operators see that credentials exist, their hints and health, never a sealed value."""

from django.contrib import admin

from plugins.credentials.models import (
    OAuthClient,
    OAuthConnection,
    ServiceCredential,
    UserCredential,
    Webhook,
    WebhookDelivery,
)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Removing a credential revokes tokens and is audited: the services do it, not a row
        # delete from the console.
        return False


@admin.register(ServiceCredential)
class ServiceCredentialAdmin(_ReadOnly):
    list_display = ("plugin", "organization", "hint", "set_by", "updated_at")
    fields = ("plugin", "organization", "hint", "set_by", "created_at", "updated_at")
    readonly_fields = fields


@admin.register(UserCredential)
class UserCredentialAdmin(_ReadOnly):
    list_display = ("installation", "user", "hint", "updated_at", "last_used_at")
    fields = ("organization", "installation", "user", "hint", "created_at", "updated_at")
    readonly_fields = fields


@admin.register(OAuthClient)
class OAuthClientAdmin(_ReadOnly):
    list_display = ("plugin", "client_id", "secret_hint", "auth_method", "updated_at")
    fields = (
        "plugin",
        "organization",
        "client_id",
        "secret_hint",
        "scopes",
        "auth_method",
        "token_content_type",
        "json_refused",
        "revocation_url",
        "issuer",
        "updated_at",
    )
    readonly_fields = fields


@admin.register(OAuthConnection)
class OAuthConnectionAdmin(_ReadOnly):
    list_display = (
        "installation",
        "organization",
        "user",
        "state",
        "expires_at",
        "last_refreshed_at",
        "last_used_at",
    )
    list_filter = ("state", ("last_refreshed_at", admin.DateFieldListFilter))
    list_select_related = (
        "installation__plugin",
        "installation__organization",
        "organization",
        "user",
    )
    search_fields = (
        "user__email",
        "organization__slug",
        "organization__name",
        "installation__plugin__name",
    )
    show_full_result_count = False
    fields = (
        "organization",
        "installation",
        "user",
        "state",
        "scopes",
        "expires_at",
        "connected_at",
        "last_refreshed_at",
        "last_used_at",
        "last_error",
        "failures_today",
        "retry_after",
    )
    readonly_fields = fields


@admin.register(Webhook)
class WebhookAdmin(_ReadOnly):
    list_display = ("organization", "url", "secret_hint", "enabled", "created_at")
    fields = ("organization", "url", "secret_hint", "enabled", "created_by", "created_at")
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly):
    list_display = ("webhook", "event", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("status", "event")
    fields = (
        "webhook",
        "event",
        "payload",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
    )
    readonly_fields = fields
