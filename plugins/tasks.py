"""Celery tasks: thin wrappers that load by id and call the ingest services.

validate_plugin_version is idempotent (a finished run is left alone), acks late (a killed
worker's message is redelivered), and is time-limited. When the run asks to come back later
(a transient failure its budget can afford to retry, or its organization's turn hasn't come:
see plugins.ingest.run.RunLater), the task re-sends itself with that countdown; the run's own
budget, not a retry count, bounds how long that goes on. check_plugin_links checks a finished
run's links on the `links` queue (idempotent, acks late too). reap_stale_validation_runs rescues
runs whose worker died and re-sends link checks whose message was lost.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from plugins.ingest import link_stage, maintenance
from plugins.ingest.queue import LINKS_TASK, VALIDATE_TASK
from plugins.ingest.run import RunLater, execute_run, mark_run_error

logger = logging.getLogger(__name__)


@shared_task(
    name=VALIDATE_TASK,
    bind=True,
    acks_late=True,
    max_retries=None,
    soft_time_limit=120,
    time_limit=150,
)
def validate_plugin_version(self, run_id: int) -> None:
    try:
        execute_run(run_id, final_attempt=False)
    except RunLater as later:
        logger.info("validation run %s: %s (again in %ss)", run_id, later.reason, later.seconds)
        raise self.retry(countdown=later.seconds) from None
    except SoftTimeLimitExceeded:
        mark_run_error(run_id, "Validation took too long and was stopped.")
    except Exception:
        logger.exception("validation run %s crashed", run_id)
        mark_run_error(run_id, "Validation stopped on an internal error.")
        raise


@shared_task(name=LINKS_TASK, acks_late=True, soft_time_limit=60, time_limit=90)
def check_plugin_links(run_id: int) -> None:
    """A run's link check, after its verdict (plugins.ingest.link_stage), on the `links` queue."""
    try:
        link_stage.check_run_links(run_id)
    except SoftTimeLimitExceeded:
        link_stage.mark_links_error(run_id)
    except Exception:
        logger.exception("link check of validation run %s crashed", run_id)
        link_stage.mark_links_error(run_id)
        raise


@shared_task(acks_late=True)
def reap_stale_validation_runs() -> int:
    return maintenance.reap_stale_runs()


@shared_task(acks_late=True)
def revalidate_published_versions() -> int:
    """Daily: re-check every published version and flag drift of its live documents."""
    return maintenance.revalidate_published_versions()
