"""Publishing: a publisher submits a passed version; an operator approves, rejects or suspends."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from plugins.models import Plugin, PluginVersion, ReviewState, ValidationState, Visibility


@transaction.atomic
def submit_for_review(*, plugin: Plugin, version: PluginVersion, submitted_by: User) -> Plugin:
    # Decide on the stored state, not on possibly stale instances.
    plugin = Plugin.objects.select_for_update().get(pk=plugin.pk)
    version = PluginVersion.objects.get(pk=version.pk)
    if version.plugin_id != plugin.pk:
        raise ValidationError("That version belongs to another plugin.")
    if version.validation_state != ValidationState.PASSED:
        raise ValidationError("Only a version that passed validation can be submitted.")
    if plugin.review_state == ReviewState.SUSPENDED:
        raise ValidationError("A suspended plugin can't be resubmitted; contact the operators.")
    plugin.candidate_version = version
    plugin.review_state = ReviewState.PENDING
    plugin.review_reason = ""
    plugin.save(update_fields=["candidate_version", "review_state", "review_reason", "updated_at"])
    return plugin


@transaction.atomic
def approve_plugin(*, plugin: Plugin, reviewer: User) -> Plugin:
    plugin = Plugin.objects.select_for_update().get(pk=plugin.pk)
    if plugin.review_state != ReviewState.PENDING or plugin.candidate_version is None:
        raise ValidationError("Only a plugin awaiting review can be approved.")
    plugin.published_version = plugin.candidate_version
    plugin.candidate_version = None
    plugin.drift_detected_at = None
    return _decide(plugin, ReviewState.APPROVED, reviewer, "")


@transaction.atomic
def reject_plugin(*, plugin: Plugin, reviewer: User, reason: str) -> Plugin:
    if not reason.strip():
        raise ValidationError("A rejection needs a reason the publisher can act on.")
    plugin = Plugin.objects.select_for_update().get(pk=plugin.pk)
    if plugin.review_state != ReviewState.PENDING:
        raise ValidationError("Only a plugin awaiting review can be rejected.")
    plugin.candidate_version = None
    state = ReviewState.APPROVED if plugin.published_version_id else ReviewState.REJECTED
    if state == ReviewState.APPROVED:
        # The new candidate was refused; the already published version stays up.
        _decide(plugin, state, reviewer, reason)
        return plugin
    return _decide(plugin, ReviewState.REJECTED, reviewer, reason)


@transaction.atomic
def suspend_plugin(*, plugin: Plugin, reviewer: User, reason: str) -> Plugin:
    if not reason.strip():
        raise ValidationError("A suspension needs a reason.")
    plugin = Plugin.objects.select_for_update().get(pk=plugin.pk)
    return _decide(plugin, ReviewState.SUSPENDED, reviewer, reason)


def _decide(plugin: Plugin, state: ReviewState, reviewer: User, reason: str) -> Plugin:
    plugin.review_state = state
    plugin.review_reason = reason.strip()
    plugin.reviewed_by = reviewer
    plugin.reviewed_at = timezone.now()
    plugin.save()
    return plugin


def change_visibility(*, plugin: Plugin, visibility: str) -> Plugin:
    plugin.visibility = Visibility(visibility)
    plugin.save(update_fields=["visibility", "updated_at"])
    return plugin
