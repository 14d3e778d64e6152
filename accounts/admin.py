"""The operators' console for accounts: users, organizations, memberships, invitations, API
credentials and the audit log.

Everything is read-only, searchable and filterable. Operators see no secret: no password hash,
no token hash, no invitation secret. The one change allowed is revoking an API credential,
which goes through the service (and writes an audit event).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.forms import UserChangeAdminForm, UserCreationAdminForm
from accounts.models import (
    ApiCredential,
    AuditEvent,
    Invitation,
    Membership,
    Organization,
    User,
)
from accounts.services import revoke_credential

admin.site.site_header = "Plugin Marketplace · operators"
admin.site.site_title = "Operators"
admin.site.index_title = "Operators' console"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Read-only: operators are made with `manage.py createsuperuser` (see the README)."""

    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    list_display = ["email", "name", "is_staff", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name"]
    ordering = ["email"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["email"]}),
        ("Profile", {"fields": ["name"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]},
        ),
    ]
    readonly_fields = ["last_login", "date_joined"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "is_personal", "created_at"]
    list_filter = ["is_personal", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name", "organization__slug"]
    list_select_related = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = [
        "email",
        "organization",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
    ]
    list_filter = ["role"]
    search_fields = ["email", "organization__name", "organization__slug"]
    list_select_related = ["organization", "invited_by"]
    # The link secret is only in the email; its hash is not shown either.
    exclude = ["secret_hash"]


@admin.register(ApiCredential)
class ApiCredentialAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "name",
        "kind",
        "organization",
        "user",
        "role",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["kind", "role"]
    search_fields = ["prefix", "name", "organization__slug", "user__email"]
    list_select_related = ["organization", "user"]
    fields = [
        "kind",
        "name",
        "prefix",
        "organization",
        "user",
        "role",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # a token is issued by the app (or `manage.py issue_token`), shown once

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke the selected credentials", permissions=["view"])
    def revoke(self, request, queryset):
        active = list(queryset.filter(revoked_at__isnull=True))
        for credential in active:
            revoke_credential(credential=credential, revoked_by=request.user)
        self.message_user(request, f"Revoked {len(active)} credential(s).", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "organization", "actor_label", "action", "target")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter))
    list_select_related = ("organization",)
    search_fields = ("organization__slug", "organization__name", "actor_label", "target")
    date_hierarchy = "created_at"
    show_full_result_count = False  # no COUNT(*) over the whole log on every page
