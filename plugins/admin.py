"""The operators' console for plugins: a review screen and read-only records.

Nothing about a plugin is edited as a field here. Decisions (approve, reject with a reason,
suspend, reinstate) are buttons on the review screen that call plugins.review, which writes the
audit events; the records themselves (plugins, versions, runs) are read-only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from plugins import review
from plugins.admin_actions import approve, reject, suspend
from plugins.models import (
    Plugin,
    PluginAwaitingReview,
    PluginVersion,
    ReviewState,
    RunFinding,
    ValidationRun,
)
from plugins.review_selectors import review_case


class ReadOnlyAdmin(admin.ModelAdmin):
    """Operators look; they change state only through the services' actions."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        # Every field is displayed, none is a form field (no form is ever built or saved).
        excluded = set(self.exclude or ())
        return [f.name for f in self.model._meta.fields if f.name not in excluded]


class DecisionForm(forms.Form):
    DECISIONS = {
        "approve": (review.approve_plugin, False, "Approved and published"),
        "reject": (review.reject_plugin, True, "Rejected"),
        "suspend": (review.suspend_plugin, True, "Suspended"),
        "reinstate": (review.reinstate_plugin, False, "Reinstated"),
    }
    decision = forms.ChoiceField(choices=[(k, k) for k in DECISIONS])
    reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to the publisher.",
    )


def allowed_decisions(plugin: Plugin) -> list[str]:
    """The decisions the plugin's state allows, in the order the screen offers them."""
    state = plugin.review_state
    if state == ReviewState.PENDING:
        return ["approve", "reject", "suspend"]
    if state == ReviewState.SUSPENDED:
        return ["reinstate"]
    return ["suspend"]


class VersionInline(admin.TabularInline):
    model = PluginVersion
    fields = ("number", "validation_state", "source_kind", "content_sha256", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Plugin)
class PluginAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "organization",
        "name_for_model",
        "origin",
        "visibility",
        "review_state",
        "published_version",
        "review_link",
    )
    list_filter = ("review_state", "visibility")
    search_fields = ("name", "name_for_model", "origin", "organization__slug", "organization__name")
    list_select_related = ("organization", "published_version")
    exclude = ("logo_url",)
    actions = [approve, reject, suspend]
    inlines = [VersionInline]

    def has_decide_permission(self, request) -> bool:
        return request.user.has_perm("plugins.change_plugin")

    @admin.display(description="")
    def review_link(self, obj):
        url = reverse("admin:plugins_plugin_review", args=[obj.pk])
        label = "Review" if obj.review_state == ReviewState.PENDING else "Open review screen"
        return format_html('<a class="button" href="{}">{}</a>', url, label)

    def get_urls(self):
        urls = [
            path(
                "<int:plugin_id>/review/",
                self.admin_site.admin_view(self.review_view),
                name="plugins_plugin_review",
            ),
        ]
        return urls + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "review_url": reverse("admin:plugins_plugin_review", args=[object_id]),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def review_view(self, request, plugin_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        plugin = (
            Plugin.objects.select_related(
                "organization", "candidate_version", "published_version", "reviewed_by"
            )
            .filter(pk=plugin_id)
            .first()
        )
        if plugin is None:
            raise Http404
        can_decide = self.has_decide_permission(request)
        form = DecisionForm(request.POST or None)
        if request.method == "POST":
            if not can_decide:
                raise PermissionDenied
            if form.is_valid() and self._decide(request, plugin, form):
                return HttpResponseRedirect(request.path)
        case = review_case(plugin=plugin)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Review {plugin.name}",
            "case": case,
            "plugin": plugin,
            "form": form,
            "can_decide": can_decide,
            "decisions": allowed_decisions(plugin),
            "audit_url": reverse("admin:accounts_auditevent_changelist")
            + f"?organization__id__exact={plugin.organization_id}",
        }
        return TemplateResponse(request, "admin/plugins/review.html", context)

    def _decide(self, request, plugin: Plugin, form: DecisionForm) -> bool:
        decision = form.cleaned_data["decision"]
        if decision not in allowed_decisions(plugin):
            form.add_error(
                None,
                f"A {plugin.get_review_state_display().lower()} plugin can't be "
                f"given that decision.",
            )
            return False
        service, needs_reason, done = DecisionForm.DECISIONS[decision]
        reason = form.cleaned_data["reason"]
        kwargs = {"plugin": plugin, "reviewer": request.user}
        if needs_reason or decision == "reinstate":
            kwargs["reason"] = reason
        try:
            service(**kwargs)
        except ValidationError as exc:
            form.add_error("reason" if needs_reason else None, exc.messages)
            return False
        self.message_user(request, f"{done}: {plugin.name}.", messages.SUCCESS)
        return True


@admin.register(PluginAwaitingReview)
class ReviewQueueAdmin(PluginAdmin):
    """The queue: plugins awaiting a decision, oldest first, each with its review screen."""

    list_display = (
        "name",
        "organization",
        "origin",
        "visibility",
        "requested_visibility",
        "candidate_version",
        "published_version",
        "updated_at",
        "review_link",
    )
    list_filter = ("visibility",)
    list_select_related = ("organization", "candidate_version", "published_version")
    ordering = ("updated_at",)
    inlines = []

    def get_queryset(self, request):
        return super().get_queryset(request).filter(review_state=ReviewState.PENDING)

    def get_urls(self):
        return admin.ModelAdmin.get_urls(self)


class FindingInline(admin.TabularInline):
    model = RunFinding
    fields = ("severity", "code", "document", "pointer", "message")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ValidationRun)
class ValidationRunAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "version",
        "status",
        "stage",
        "trigger",
        "attempts",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "trigger")
    list_select_related = ("version__plugin",)
    search_fields = ("version__plugin__name", "organization__slug")
    inlines = [FindingInline]


@admin.register(PluginVersion)
class PluginVersionAdmin(ReadOnlyAdmin):
    list_display = ("plugin", "number", "validation_state", "source_kind", "created_at")
    list_filter = ("validation_state", "source_kind")
    list_select_related = ("plugin",)
    search_fields = ("plugin__name", "organization__slug", "content_sha256")
    # Raw documents, the logo and the normalised form (which carries the plugin's
    # verification tokens) are shown masked on the review screen, not here.
    exclude = ("raw_manifest", "raw_openapi", "logo", "normalized", "bundled_refs")
