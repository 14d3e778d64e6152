"""Celery tasks: thin wrappers that load by id and call the pipeline.

validate_plugin_version is idempotent (a finished run is left alone), acks late (a killed
worker's message is redelivered), retries transient network failures with backoff, and is
time-limited. reap_stale_validation_runs rescues runs whose worker died.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction

from plugins import pipeline
from plugins.fetching import TransientFetchFailure

logger = logging.getLogger(__name__)

MAX_RETRIES = 3


def enqueue_validation(run) -> None:
    """Queue a run once the transaction that created it commits."""
    run_id = run.pk
    transaction.on_commit(lambda: validate_plugin_version.delay(run_id))


@shared_task(
    bind=True, acks_late=True, max_retries=MAX_RETRIES, soft_time_limit=120, time_limit=150
)
def validate_plugin_version(self, run_id: int) -> None:
    final_attempt = self.request.retries >= MAX_RETRIES
    try:
        pipeline.execute_run(run_id, final_attempt=final_attempt)
    except TransientFetchFailure as failure:
        countdown = 5 * 2**self.request.retries
        logger.info("validation run %s: transient failure, retrying in %ss", run_id, countdown)
        raise self.retry(countdown=countdown, exc=failure) from None
    except SoftTimeLimitExceeded:
        pipeline.mark_run_error(run_id, "Validation took too long and was stopped.")
    except Exception:
        logger.exception("validation run %s crashed", run_id)
        pipeline.mark_run_error(run_id, "Validation stopped on an internal error.")
        raise


@shared_task(acks_late=True)
def reap_stale_validation_runs() -> int:
    """Rescue runs that would otherwise stay unfinished forever.

    A run left `running` by a worker that died is marked `error` and a fresh run of the same
    version is queued; a run still `queued` long after its message was sent is sent again
    (claiming is atomic, so a duplicate message is harmless).
    """
    from plugins.models import RunTrigger
    from plugins.registration import requeue_version

    reaped = 0
    for run in pipeline.forgotten_runs():
        with transaction.atomic():
            if pipeline.note_requeued(run.pk):
                enqueue_validation(run)
                reaped += 1
    for run in pipeline.abandoned_runs().select_related("version"):
        with transaction.atomic():
            pipeline.mark_run_error(run.pk, "The worker stopped mid-run; validation was re-queued.")
            if run.version.validated_at is None or run.trigger == RunTrigger.REVALIDATION:
                requeue_version(
                    version=run.version,
                    trigger=RunTrigger.RETRY
                    if run.trigger != RunTrigger.REVALIDATION
                    else run.trigger,
                )
        reaped += 1
    return reaped


@shared_task(acks_late=True)
def revalidate_published_versions() -> int:
    """Daily: re-check every published version and flag drift of its live documents."""
    from plugins.models import Plugin, RunTrigger
    from plugins.registration import requeue_version

    count = 0
    for plugin in Plugin.objects.filter(published_version__isnull=False).select_related(
        "published_version"
    ):
        with transaction.atomic():
            requeue_version(version=plugin.published_version, trigger=RunTrigger.REVALIDATION)
        count += 1
    return count
