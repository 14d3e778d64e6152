"""Publishing: a publisher submits a passed version; an operator approves, rejects, suspends or
reinstates.

What the catalogue shows changes only here, on approval: the published version's name,
description and vetted logo URL are copied onto the plugin (plugins.listing). Widening a
published plugin's visibility (private to unlisted or public, unlisted to public) is a
publication too: it waits for an operator like a new version does. Every decision is an audit
event of the publisher organization.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import record_event
from accounts.models import User
from plugins.listing import listing_fields
from plugins.models import Plugin, PluginVersion, ReviewState, ValidationState, Visibility
from plugins.selectors import catalog_changed

# How far a visibility reaches; a step up on a published plugin needs an operator's approval.
_REACH = {Visibility.PRIVATE: 0, Visibility.UNLISTED: 1, Visibility.PUBLIC: 2}


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
    plugin.refuse_if_archived("submitted for review")
    plugin.candidate_version = version
    plugin.review_state = ReviewState.PENDING
    plugin.review_reason = ""
    plugin.save(update_fields=["candidate_version", "review_state", "review_reason", "updated_at"])
    record_event(
        organization=plugin.organization,
        action="plugin.submitted_for_review",
        actor=submitted_by,
        target=plugin.name,
        version=version.number,
    )
    return plugin


@transaction.atomic
def approve_plugin(*, plugin: Plugin, reviewer: User) -> Plugin:
    plugin = Plugin.objects.select_for_update().get(pk=plugin.pk)
    if plugin.review_state != ReviewState.PENDING or plugin.candidate_version is None:
        raise ValidationError("Only a plugin awaiting review can be approved.")
    plugin.published_version = plugin.candidate_version
    plugin.candidate_version = None
    plugin.drift_detected_at = None
    for field, value in listing_fields(
        normalized=plugin.published_version.normalized, fallback_name=plugin.name
    ).items():
        setattr(plugin, field, value)
    if plugin.requested_visibility:
        plugin.visibility, plugin.requested_visibility = plugin.requested_visibility, ""
    return _decide(plugin, ReviewState.APPROVED, reviewer, "", "plugin.approved")


@transaction.atomic
def reject_plugin(*, plugin: Plugin, reviewer: User, reason: str) -> Plugin:
    if not reason.strip():
        raise ValidationError("A rejection needs a reason the publisher can act on.")
    plugin = Plugin.objects.select_for_update().get(pk=plugin.pk)
    if plugin.review_state != ReviewState.PENDING:
        raise ValidationError("Only a plugin awaiting review can be rejected.")
    plugin.candidate_version = None
    plugin.requested_visibility = ""
    if plugin.published_version_id:
        # The new candidate was refused; the already published version stays up.
        return _decide(plugin, ReviewState.APPROVED, reviewer, reason, "plugin.candidate_rejected")
    return _decide(plugin, ReviewState.REJECTED, reviewer, reason, "plugin.rejected")


@transaction.atomic
def suspend_plugin(*, plugin: Plugin, reviewer: User, reason: str) -> Plugin:
    if not reason.strip():
        raise ValidationError("A suspension needs a reason.")
    plugin = Plugin.objects.select_for_update().get(pk=plugin.pk)
    return _decide(plugin, ReviewState.SUSPENDED, reviewer, reason, "plugin.suspended")


@transaction.atomic
def reinstate_plugin(*, plugin: Plugin, reviewer: User, reason: str = "") -> Plugin:
    """Lift a suspension: back to published if a version was, else to review or draft."""
    plugin = Plugin.objects.select_for_update().get(pk=plugin.pk)
    if plugin.review_state != ReviewState.SUSPENDED:
        raise ValidationError("Only a suspended plugin can be reinstated.")
    if plugin.published_version_id:
        state = ReviewState.APPROVED
    elif plugin.candidate_version_id:
        state = ReviewState.PENDING
    else:
        state = ReviewState.DRAFT
    return _decide(plugin, state, reviewer, reason, "plugin.reinstated")


def _decide(plugin: Plugin, state: ReviewState, reviewer: User, reason: str, action: str) -> Plugin:
    plugin.review_state = state
    plugin.review_reason = reason.strip()
    plugin.reviewed_by = reviewer
    plugin.reviewed_at = timezone.now()
    plugin.save()
    catalog_changed()
    published = plugin.published_version
    record_event(
        organization=plugin.organization,
        action=action,
        actor=reviewer,
        actor_label=f"operator {reviewer.email}",
        target=plugin.name,
        reason=reason.strip() or None,
        published_version=published.number if published else None,
    )
    return plugin


@transaction.atomic
def change_visibility(*, plugin: Plugin, visibility: str, changed_by: User) -> Plugin:
    """Narrowing applies at once. Widening a published plugin's reach is a publication: the
    plugin goes back to the review queue (its published version as the candidate, unless a
    newer one is already waiting) and the wider visibility applies once approved."""
    plugin = Plugin.objects.select_for_update().get(pk=plugin.pk)
    wanted = Visibility(visibility)
    before = Visibility(plugin.visibility)
    if plugin.is_published and _REACH[wanted] > _REACH[before]:
        if plugin.requested_visibility == wanted:
            return plugin
        plugin.requested_visibility = wanted
        plugin.candidate_version = plugin.candidate_version or plugin.published_version
        plugin.review_state = ReviewState.PENDING
        plugin.save(
            update_fields=[
                "requested_visibility",
                "candidate_version",
                "review_state",
                "updated_at",
            ]
        )
        record_event(
            organization=plugin.organization,
            action="plugin.visibility_requested",
            actor=changed_by,
            target=plugin.name,
            before=before.value,
            requested=wanted.value,
        )
        return plugin
    changed = before != wanted or plugin.requested_visibility
    plugin.visibility = wanted
    plugin.requested_visibility = ""
    plugin.save(update_fields=["visibility", "requested_visibility", "updated_at"])
    catalog_changed()
    if changed:
        record_event(
            organization=plugin.organization,
            action="plugin.visibility_changed",
            actor=changed_by,
            target=plugin.name,
            before=before.value,
            after=wanted.value,
        )
    return plugin
