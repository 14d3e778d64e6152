"""The operators' console: the review queue (approve / reject with a reason / suspend)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from plugins import review
from plugins.models import Plugin, PluginAwaitingReview, PluginVersion, RunFinding, ValidationRun


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        help_text="Shown to the publisher.",
    )


def _decide_with_reason(modeladmin, request, queryset, *, decide, title: str):
    if "apply" in request.POST:
        form = ReasonForm(request.POST)
        if form.is_valid():
            done = 0
            for plugin in queryset:
                try:
                    decide(plugin=plugin, reviewer=request.user, reason=form.cleaned_data["reason"])
                    done += 1
                except ValidationError as exc:
                    modeladmin.message_user(request, f"{plugin}: {exc.messages[0]}", messages.ERROR)
            modeladmin.message_user(request, f"{title}: {done} plugin(s).", messages.SUCCESS)
            return None
    else:
        form = ReasonForm()
    return TemplateResponse(
        request,
        "admin/plugins/reason.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "queryset": queryset,
            "action": request.POST.get("action"),
            "opts": modeladmin.model._meta,
        },
    )


@admin.action(description="Approve and publish the submitted version")
def approve(modeladmin, request, queryset):
    for plugin in queryset:
        try:
            review.approve_plugin(plugin=plugin, reviewer=request.user)
            modeladmin.message_user(request, f"Published {plugin}.", messages.SUCCESS)
        except ValidationError as exc:
            modeladmin.message_user(request, f"{plugin}: {exc.messages[0]}", messages.ERROR)


@admin.action(description="Reject with a reason…")
def reject(modeladmin, request, queryset):
    return _decide_with_reason(
        modeladmin, request, queryset, decide=review.reject_plugin, title="Reject plugins"
    )


@admin.action(description="Suspend with a reason…")
def suspend(modeladmin, request, queryset):
    return _decide_with_reason(
        modeladmin, request, queryset, decide=review.suspend_plugin, title="Suspend plugins"
    )


class VersionInline(admin.TabularInline):
    model = PluginVersion
    fields = ("number", "validation_state", "source_kind", "content_sha256", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Plugin)
class PluginAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "organization",
        "name_for_model",
        "origin",
        "visibility",
        "review_state",
        "published_version",
        "drift_detected_at",
    )
    list_filter = ("review_state", "visibility")
    search_fields = ("name", "name_for_model", "origin", "organization__slug")
    readonly_fields = (
        "organization",
        "published_version",
        "candidate_version",
        "reviewed_by",
        "reviewed_at",
        "drift_detected_at",
        "requested_visibility",
        "listed_name",
        "listed_description",
        "listed_logo_url",
        "created_at",
        "updated_at",
    )
    actions = [approve, reject, suspend]
    inlines = [VersionInline]


@admin.register(PluginAwaitingReview)
class ReviewQueueAdmin(PluginAdmin):
    list_display = (
        "name",
        "organization",
        "origin",
        "visibility",
        "requested_visibility",
        "candidate_version",
        "updated_at",
    )
    list_filter = ("visibility",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(review_state="pending")

    def has_add_permission(self, request):
        return False


class FindingInline(admin.TabularInline):
    model = RunFinding
    fields = ("severity", "code", "document", "pointer", "message")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(ValidationRun)
class ValidationRunAdmin(admin.ModelAdmin):
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
    readonly_fields = [f.name for f in ValidationRun._meta.fields]
    inlines = [FindingInline]

    def has_add_permission(self, request):
        return False


@admin.register(PluginVersion)
class PluginVersionAdmin(admin.ModelAdmin):
    list_display = ("plugin", "number", "validation_state", "source_kind", "created_at")
    list_filter = ("validation_state", "source_kind")
    exclude = ("raw_manifest", "raw_openapi")
    readonly_fields = (
        "organization",
        "plugin",
        "number",
        "source_kind",
        "manifest_url",
        "openapi_url",
        "origin",
        "content_sha256",
        "validation_state",
        "submitted_by",
        "validated_at",
        "diff",
        "normalized",
        "normalized_openapi",
        "bundled_refs",
        "manifest_content_type",
        "openapi_content_type",
    )

    def has_add_permission(self, request):
        return False
