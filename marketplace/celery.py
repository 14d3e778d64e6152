"""The Celery application: JSON only, late acks, time limits from settings."""

import os
import warnings

from celery import Celery
from celery.exceptions import SecurityWarning
from celery.signals import task_postrun, task_prerun, worker_init
from django.db import close_old_connections
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

if os.environ.get("ENVIRONMENT", "development") == "development":
    # `make run` in a root container (a laptop VM, a dev box): Celery's warning about running
    # as root is meant for servers; production images run as an unprivileged user.
    warnings.filterwarnings("ignore", category=SecurityWarning)

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["plugins.proxy"])

app.conf.beat_schedule = {
    "drain-call-events": {
        "task": "plugins.proxy.tasks.drain_call_events",
        "schedule": 5.0,
    },
    "reap-stale-validation-runs": {
        "task": "plugins.tasks.reap_stale_validation_runs",
        "schedule": 60.0,
    },
    "revalidate-published-versions": {
        "task": "plugins.tasks.revalidate_published_versions",
        "schedule": 24 * 60 * 60.0,
    },
    "purge-finished-oauth-flows": {
        "task": "plugins.credentials.tasks.purge_finished_flows",
        "schedule": 60 * 60.0,
    },
}

# Two queues: validation runs (CPU: prefork, one process per core) and their link checks (I/O:
# a thread pool, many at once; see plugins.ingest.link_stage). A worker started without -Q
# (`make worker`, the tests) serves both; the Procfile and docker-compose.yml give each its own.
app.conf.task_queues = (Queue("celery"), Queue("links"))


@worker_init.connect
@task_prerun.connect
@task_postrun.connect
def _give_back_connections(task=None, **kwargs) -> None:
    """Around each task, what Django does around a request: the thread's connection goes back
    to the pool (or is closed when unusable); and, as Celery's own handler did, in the thread
    that starts a worker. Celery's handler, which also closed the pool, now runs only every
    CELERY_DB_REUSE_MAX tasks (settings). An eager task runs inside its caller's transaction
    and is left alone, as Celery leaves it."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    close_old_connections()
