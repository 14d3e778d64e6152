"""Installations, allow-lists and call events in the operators' console: read-only and
searchable. Call events hold no bodies or arguments; allow-list values are resource names
(databases, containers), not secrets."""

from __future__ import annotations

from django.contrib import admin

from plugins.installations.models import AllowList, CallEvent, Installation


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Installation)
class InstallationAdmin(ReadOnlyAdmin):
    list_display = ("plugin", "organization", "version", "enabled", "installed_by", "created_at")
    list_filter = ("enabled",)
    list_select_related = ("plugin", "organization", "version", "installed_by")
    search_fields = (
        "plugin__name",
        "plugin__listed_name",
        "organization__slug",
        "organization__name",
    )


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
