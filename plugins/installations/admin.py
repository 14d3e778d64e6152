"""Installations, allow-lists and call events in the operators' console: read-only and
searchable. Call events hold no bodies or arguments; allow-list values are resource names
(databases, containers), not secrets. An installation shows its members' OAuth connections by
state (counts in the list, one row per member on its page): states and dates, never a token."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q

from plugins.credentials.models import ConnectionState, OAuthConnection
from plugins.installations.models import AllowList, CallEvent, Installation


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ConnectionInline(admin.TabularInline):
    model = OAuthConnection
    verbose_name = "member's OAuth connection"
    verbose_name_plural = "members' OAuth connections (state only)"
    fields = ("user", "state", "scopes", "connected_at", "expires_at", "last_refreshed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ConnectionHealthFilter(admin.SimpleListFilter):
    title = "OAuth connections"
    parameter_name = "connections"

    def lookups(self, request, model_admin):
        return (
            ("needs_reconnect", "Some need reconnecting"),
            ("error", "Some provider failing"),
            ("connected", "Some connected"),
            ("none", "No connections"),
        )

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(oauth_connections__isnull=True)
        if value in ConnectionState.values:
            return queryset.filter(oauth_connections__state=value).distinct()
        return queryset


def _count(state: str):
    return Count("oauth_connections", filter=Q(oauth_connections__state=state))


@admin.register(Installation)
class InstallationAdmin(ReadOnlyAdmin):
    list_display = (
        "plugin",
        "organization",
        "version",
        "enabled",
        "connected",
        "needs_reconnect",
        "failing",
        "created_at",
    )
    list_filter = ("enabled", ConnectionHealthFilter)
    list_select_related = ("plugin", "organization", "version")
    search_fields = (
        "plugin__name",
        "plugin__listed_name",
        "organization__slug",
        "organization__name",
    )
    inlines = (ConnectionInline,)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                connected_count=_count(ConnectionState.CONNECTED),
                needs_reconnect_count=_count(ConnectionState.NEEDS_RECONNECT),
                failing_count=_count(ConnectionState.ERROR),
            )
        )

    @admin.display(description="connected", ordering="connected_count")
    def connected(self, obj) -> int:
        return obj.connected_count

    @admin.display(description="need reconnecting", ordering="needs_reconnect_count")
    def needs_reconnect(self, obj) -> int:
        return obj.needs_reconnect_count

    @admin.display(description="provider failing", ordering="failing_count")
    def failing(self, obj) -> int:
        return obj.failing_count


@admin.register(AllowList)
class AllowListAdmin(ReadOnlyAdmin):
    list_display = ("installation", "user", "organization", "updated_by", "updated_at")
    list_select_related = ("installation__plugin", "user", "organization", "updated_by")
    search_fields = ("user__email", "organization__slug", "installation__plugin__name")


@admin.register(CallEvent)
class CallEventAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "organization",
        "plugin",
        "operation",
        "user",
        "decision",
        "upstream_status",
        "latency_ms",
    )
    list_filter = ("decision", ("created_at", admin.DateFieldListFilter))
    list_select_related = ("organization", "plugin", "user")
    search_fields = ("request_id", "operation", "organization__slug", "user__email")
    date_hierarchy = "created_at"
    show_full_result_count = False
