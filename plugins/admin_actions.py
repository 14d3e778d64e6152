"""Bulk decisions on the review queue's list: approve, or reject / suspend with one reason.

Each calls the same service as the review screen (plugins.review), so each is an audit event;
they need the permission to decide (`plugins.change_plugin`), like the screen's buttons."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from plugins import review


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


@admin.action(description="Approve and publish the submitted version", permissions=["decide"])
def approve(modeladmin, request, queryset):
    for plugin in queryset:
        try:
            review.approve_plugin(plugin=plugin, reviewer=request.user)
            modeladmin.message_user(request, f"Published {plugin}.", messages.SUCCESS)
        except ValidationError as exc:
            modeladmin.message_user(request, f"{plugin}: {exc.messages[0]}", messages.ERROR)


@admin.action(description="Reject with a reason…", permissions=["decide"])
def reject(modeladmin, request, queryset):
    return _decide_with_reason(
        modeladmin, request, queryset, decide=review.reject_plugin, title="Reject plugins"
    )


@admin.action(description="Suspend with a reason…", permissions=["decide"])
def suspend(modeladmin, request, queryset):
    return _decide_with_reason(
        modeladmin, request, queryset, decide=review.suspend_plugin, title="Suspend plugins"
    )
