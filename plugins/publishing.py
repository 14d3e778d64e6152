"""The publisher's own housekeeping on a plugin: validate it again now, delete one that never
passed, archive (and unarchive) one that was never published. (Submitting for review and the
operators' decisions live in plugins.review.)"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import record_event
from accounts.models import User
from plugins.ingest.queue import queue_run
from plugins.models import Plugin, RunStatus, RunTrigger, ValidationRun, ValidationState
from plugins.registration import revalidate_plugin as revalidate_by_url


@transaction.atomic
def revalidate_plugin(
    *, plugin: Plugin, requested_by: User | None, actor_label: str = ""
) -> ValidationRun:
    """A plugin registered by URL is fetched again (a new version when its documents changed);
    an uploaded one has its latest version checked again. `actor_label` names an organization
    API key in the audit trail (`requested_by` is None then)."""
    plugin = Plugin.objects.select_for_update().get(pk=plugin.pk)
    plugin.refuse_if_archived("validated again")
    if plugin.source_url:
        return revalidate_by_url(
            plugin=plugin, submitted_by=requested_by, actor_label=actor_label
        ).run
    version = plugin.versions.exclude(content_sha256="").order_by("-created_at").first()
    if version is None:
        raise ValidationError("This plugin has no stored documents to validate; upload them again.")
    run = queue_run(version=version, trigger=RunTrigger.REVALIDATION)
    record_event(
        organization=plugin.organization,
        action="plugin.revalidation_requested",
        actor=requested_by,
        actor_label=actor_label,
        target=plugin.name,
        version=version.number,
    )
    return run


def can_delete(plugin: Plugin) -> bool:
    """Only a plugin that never passed validation (so was never submitted, published or
    installed) can be deleted outright."""
    return (
        plugin.published_version_id is None
        and plugin.candidate_version_id is None
        and not plugin.versions.filter(validation_state=ValidationState.PASSED).exists()
    )


@transaction.atomic
def delete_plugin(*, plugin: Plugin, deleted_by: User) -> None:
    plugin = Plugin.objects.select_for_update().get(pk=plugin.pk)
    if not can_delete(plugin):
        raise ValidationError(
            "Only a plugin that never passed validation can be deleted; make it private instead."
        )
    busy = ValidationRun.objects.filter(
        version__plugin=plugin, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    )
    if busy.exists():
        raise ValidationError("A validation run is still going; delete the plugin once it ends.")
    record_event(
        organization=plugin.organization,
        action="plugin.deleted",
        actor=deleted_by,
        target=plugin.name,
        versions=plugin.versions.count(),
    )
    plugin.delete()


def can_archive(plugin: Plugin) -> bool:
    """A plugin that was never published and isn't awaiting review can be archived (one that
    never passed included): it leaves the publisher's list but keeps its history."""
    return (
        plugin.archived_at is None
        and plugin.published_version_id is None
        and plugin.candidate_version_id is None
    )


@transaction.atomic
def set_archived(*, plugin: Plugin, archived: bool, changed_by: User) -> Plugin:
    """Archive a plugin (see can_archive), or bring an archived one back; audited."""
    plugin = Plugin.objects.select_for_update().get(pk=plugin.pk)
    if archived and not can_archive(plugin):
        raise ValidationError(
            "Only a plugin that was never published and isn't in review can be archived."
        )
    if not archived and plugin.archived_at is None:
        raise ValidationError("This plugin isn't archived.")
    plugin.archived_at = timezone.now() if archived else None
    plugin.save(update_fields=["archived_at", "updated_at"])
    record_event(
        organization=plugin.organization,
        action="plugin.archived" if archived else "plugin.unarchived",
        actor=changed_by,
        target=plugin.name,
    )
    return plugin
