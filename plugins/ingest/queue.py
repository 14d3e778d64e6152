"""Queueing validation runs: a run row, then its Celery message once the transaction commits.

The task is addressed by name, so services that queue runs (registration, the reaper, the daily
re-validation) never import the task module that calls back into them.
"""

from __future__ import annotations

from celery import current_app
from django.db import transaction

from plugins.models import PluginVersion, RunTrigger, ValidationRun

VALIDATE_TASK = "plugins.tasks.validate_plugin_version"
# A run's link check waits on publishers' hosts: it has a queue of its own, served by an I/O
# worker (a thread pool) so that waiting never holds a validation slot (Procfile `links`).
LINKS_TASK = "plugins.tasks.check_plugin_links"
LINKS_QUEUE = "links"


def queue_run(
    *, version: PluginVersion, trigger: RunTrigger = RunTrigger.SUBMISSION
) -> ValidationRun:
    """Create a queued run of ``version`` and send its message when the transaction commits."""
    run = ValidationRun.objects.create(
        organization=version.organization, version=version, trigger=trigger
    )
    send_run(run.pk)
    return run


def send_run(run_id: int) -> None:
    """Send (or re-send) the message for a queued run, once the transaction commits."""
    transaction.on_commit(lambda: current_app.send_task(VALIDATE_TASK, args=[run_id]))


def send_link_check(run_id: int) -> None:
    """Send (or re-send) the message that checks a run's links, once the transaction commits."""
    transaction.on_commit(
        lambda: current_app.send_task(LINKS_TASK, args=[run_id], queue=LINKS_QUEUE)
    )
