"""Keeping validation moving: rescuing runs a dead worker or a lost message left behind, and the
daily re-validation of published versions. Services; the beat tasks in plugins/tasks.py call them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from plugins.ingest.queue import queue_run, send_link_check, send_run
from plugins.ingest.run import mark_run_error
from plugins.models import LinkCheck, Plugin, RunStatus, RunTrigger, ValidationRun


def reap_stale_runs() -> int:
    """Rescue runs that would otherwise stay unfinished forever; return how many.

    A run left `running` by a worker that died is marked `error` and a fresh run of the same
    version is queued; a run still `queued` long after its message was sent is sent again
    (claiming is atomic, so a duplicate message is harmless); so is a link check still pending
    long after its run's verdict (recording it is idempotent too).
    """
    reaped = 0
    for run in forgotten_runs():
        with transaction.atomic():
            if note_requeued(run.pk):
                send_run(run.pk)
                reaped += 1
    for run in forgotten_link_checks():
        with transaction.atomic():
            if note_requeued(run.pk, links=True):
                send_link_check(run.pk)
                reaped += 1
    for run in abandoned_runs().select_related("version"):
        with transaction.atomic():
            mark_run_error(run.pk, "The worker stopped mid-run; validation was re-queued.")
            if run.version.validated_at is None or run.trigger == RunTrigger.REVALIDATION:
                trigger = (
                    RunTrigger.REVALIDATION
                    if run.trigger == RunTrigger.REVALIDATION
                    else RunTrigger.RETRY
                )
                queue_run(version=run.version, trigger=trigger)
        reaped += 1
    return reaped


def revalidate_published_versions() -> int:
    """Queue a re-validation of every published version (drift is flagged by the run)."""
    count = 0
    for plugin in Plugin.objects.filter(published_version__isnull=False).select_related(
        "published_version"
    ):
        with transaction.atomic():
            queue_run(version=plugin.published_version, trigger=RunTrigger.REVALIDATION)
        count += 1
    return count


def abandoned_runs():
    """Running runs whose worker stopped sending heartbeats (killed, lost its host, …)."""
    cutoff = timezone.now() - settings.VALIDATION_RUN_STALE_AFTER
    return ValidationRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff)


def forgotten_runs():
    """Queued runs nobody has touched for a while: their broker message was probably lost."""
    cutoff = timezone.now() - settings.VALIDATION_RUN_STALE_AFTER
    return ValidationRun.objects.filter(status=RunStatus.QUEUED).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )


def forgotten_link_checks():
    """Finished runs whose link check nobody has recorded for a while (its message was lost,
    or its worker died and the broker kept the message no longer)."""
    cutoff = timezone.now() - settings.VALIDATION_RUN_STALE_AFTER
    return ValidationRun.objects.filter(links=LinkCheck.PENDING, heartbeat_at__lt=cutoff)


def note_requeued(run_id: int, *, links: bool = False) -> bool:
    """Mark a queued run (or a pending link check) as re-sent now; False when it no longer is."""
    pending = {"links": LinkCheck.PENDING} if links else {"status": RunStatus.QUEUED}
    return bool(
        ValidationRun.objects.filter(pk=run_id, **pending).update(heartbeat_at=timezone.now())
    )
