"""A run's link stage as a task of its own, after the verdict and off the validation workers.

Checking the logo and the legal page (plugins.ingest.links) waits on publishers' hosts: up to
LINK_BUDGET seconds, and an unanswering DNS server can hold a lookup for its whole timeout. In
the run, that wait held a validation worker's slot while its CPU sat idle. Link problems are
only warnings, so the verdict never depends on them: the run records its verdict and says its
links are pending (`ValidationRun.links`), and the `links` queue's I/O worker (a thread pool,
many checks at once) checks them here. Their warnings are added to the run's findings after
the ones already stored, the order the inline stage gave them, and the summary is counted
again; when the run is the one that validated its version, the verified logo is kept on it.

Each check draws on what is left of the run's network budget and has the stage's own budget
(LINK_BUDGET). Idempotent: a redelivered message finds the links checked and does nothing; two
deliveries at once may both check, only one records. No database connection is held while
waiting on the network (the I/O worker has more threads than its pool has connections).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from plugins.ingest import budget as run_budget
from plugins.ingest.links import LINK_BUDGET, LinkReport, check_links
from plugins.ingest.run import add_findings, summarize
from plugins.models import LinkCheck, Plugin, PluginVersion, ValidationRun
from plugins.selectors import catalog_changed

logger = logging.getLogger(__name__)

# What check_links reads of a version's normalised form.
LINK_KEYS = ("dialect", "logo_url", "legal_info_url")


def check_run_links(run_id: int) -> ValidationRun | None:
    """Check a run's pending links and record what was found; None when none are pending."""
    # The run and the links its version's normalised form names, in one query.
    pending = (
        ValidationRun.objects.filter(pk=run_id, links=LinkCheck.PENDING)
        .values(
            "network_seconds",
            "timed_out_hosts",
            *(f"version__normalized__{key}" for key in LINK_KEYS),
        )
        .first()
    )
    if pending is None:
        return None
    plugin = {key: pending[f"version__normalized__{key}"] for key in LINK_KEYS}
    budget = run_budget.RunBudget(
        network_left=settings.VALIDATION_RUN_NETWORK_BUDGET - (pending["network_seconds"] or 0),
        deadline=time.monotonic() + LINK_BUDGET,
        timed_out_before=frozenset(pending["timed_out_hosts"] or ()),
    )
    _give_back_connection()
    started = time.monotonic()
    with run_budget.active(budget):
        report = check_links(plugin)
    return _record(run_id, report, spent=budget.spent, seconds=time.monotonic() - started)


def _give_back_connection() -> None:
    """Return this thread's database connection to the pool for the network wait (not inside
    a transaction, where closing it would spoil the transaction: tests run in one)."""
    if not connection.in_atomic_block:
        connection.close()


@transaction.atomic
def _record(run_id: int, report: LinkReport, *, spent: float, seconds: float):
    run = (
        ValidationRun.objects.select_for_update().filter(pk=run_id, links=LinkCheck.PENDING).first()
    )
    if run is None:
        return None  # another delivery recorded them meanwhile
    fields = ["links", "links_finished_at", "stage_timings", "network_seconds"]
    if report.findings:
        counts = dict(run.findings.values_list("severity").annotate(n=Count("id")))
        add_findings(run, report.findings, after=sum(counts.values()))
        for finding in report.findings:
            counts[str(finding.severity)] = counts.get(str(finding.severity), 0) + 1
        run.summary = summarize(counts)
        fields.append("summary")
    run.links = LinkCheck.CHECKED
    run.links_finished_at = timezone.now()
    run.stage_timings = {**run.stage_timings, "checking_links": round(seconds, 4)}
    run.network_seconds = (run.network_seconds or 0.0) + spent
    run.save(update_fields=fields)
    if run.links_keep_logo and report.logo is not None:
        kept = PluginVersion.objects.filter(pk=run.version_id, logo__isnull=True).update(
            logo=report.logo, logo_content_type=report.logo_content_type
        )
        if kept and Plugin.objects.filter(published_version_id=run.version_id).exists():
            catalog_changed()
    return run


def mark_links_error(run_id: int) -> None:
    """The check crashed or overran: the run stops waiting for it (its verdict stands)."""
    ValidationRun.objects.filter(pk=run_id, links=LinkCheck.PENDING).update(
        links=LinkCheck.ERROR, links_finished_at=timezone.now()
    )
