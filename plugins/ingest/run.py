"""One validation run, stage by stage: fetch, check, record; then its links, by another task.

The Celery task calls `execute_run(run_id)`; everything it learns lands on the run (status,
stage, timings, findings) and, once, on the version (content, normalised form, diff). A run is
claimed atomically so a redelivered task never runs twice alongside itself, and a version is
frozen once validated.

Fairness: a run is claimed only while its organization has fewer than
settings.VALIDATION_MAX_RUNS_PER_ORGANIZATION runs in a worker; otherwise it stays queued, says
why, and `RunLater` asks the task to come back. Every network call draws on the run's budget
(plugins.ingest.budget), which also decides whether a transient failure is retried. Documents
are parsed only here, in the worker, and never inside a transaction: identifying which plugin
an upload or a fetched document belongs to happens before the short transaction that records it.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from plugins.credentials.services import verification_token_for
from plugins.ingest import budget as run_budget
from plugins.ingest.fetch import (
    FetchedDocuments,
    TransientFetchFailure,
    fetch_bundled_refs,
    fetch_from_manifest_url,
    fetch_from_openapi_url,
)
from plugins.ingest.queue import send_link_check
from plugins.models import (
    LinkCheck,
    Plugin,
    PluginVersion,
    RunFinding,
    RunStage,
    RunStatus,
    RunTrigger,
    SourceKind,
    ValidationRun,
    ValidationState,
)
from plugins.selectors import catalog_changed
from plugins.validation import Finding, PluginInput, Severity, diff_versions, validate_plugin
from plugins.validation.identity import identify_documents
from plugins.versions import content_sha256, find_plugin, lock_numbering

logger = logging.getLogger(__name__)

# How long a run waiting for its organization's turn stays away before asking again, per run of
# the organization queued ahead of it (so a publisher's backlog keeps its order), and at most.
WAITING = "Waiting for your organization's other validations to finish."
WAIT_STEP_SECONDS = 3
MAX_WAIT_SECONDS = 30


class RunLater(Exception):
    """The run is back in the queue: ask again in `seconds` (a retry after a transient failure,
    or the organization's turn hasn't come)."""

    def __init__(self, seconds: float, reason: str):
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason


class RunContext:
    """Tracks stage changes and timings of one run, writing them through as they happen, and
    the run's network budget (its spending is written once, with the verdict if there is one)."""

    def __init__(self, run: ValidationRun, budget: run_budget.RunBudget):
        self.run = run
        self.budget = budget
        self.budget_recorded = False
        self._network_before = run.network_seconds or 0.0
        self._stage_started = time.monotonic()

    def stage(self, stage: str) -> None:
        self.advance(stage)
        ValidationRun.objects.filter(pk=self.run.pk).update(
            stage=stage, stage_timings=self.run.stage_timings, heartbeat_at=self.run.heartbeat_at
        )

    def advance(self, stage: str) -> None:
        """The stage change in memory only, for a caller that saves the run next."""
        now = time.monotonic()
        timings = dict(self.run.stage_timings)
        timings[self.run.stage] = round(
            timings.get(self.run.stage, 0) + now - self._stage_started, 4
        )
        self._stage_started = now
        self.run.stage = stage
        self.run.stage_timings = timings
        self.run.heartbeat_at = timezone.now()

    def record_budget(self) -> list[str]:
        """Put the budget's spending on the run for the save that follows; the fields to save."""
        self.run.network_seconds = self._network_before + self.budget.spent
        self.run.timed_out_hosts = self.budget.timed_out_hosts
        self.budget_recorded = True
        return ["network_seconds", "timed_out_hosts"]

    def save_budget(self) -> None:
        """Write the budget's spending on its own (no verdict was saved with it)."""
        ValidationRun.objects.filter(pk=self.run.pk).update(
            network_seconds=self._network_before + self.budget.spent,
            timed_out_hosts=self.budget.timed_out_hosts,
        )


# What a run never reads of its version: the verdict's documents, written by `_finish` (a
# revalidation keeps them; a new version has none yet), and the logo, kept by the link stage.
CLAIM_DEFERRED = ("normalized", "normalized_openapi", "diff", "logo", "operations")


def claim_run(run_id: int) -> ValidationRun | None:
    """Mark the run running and return it; None when it is finished or someone else runs it.
    Raises RunLater when its organization already has its share of runs in the workers."""
    stale_before = timezone.now() - settings.VALIDATION_RUN_STALE_AFTER
    with transaction.atomic():
        # Only the run is locked (its claim is what two deliveries contend for), and the
        # version's large columns the run never reads stay in the database.
        run = (
            ValidationRun.objects.select_for_update(of=("self",))
            .select_related("version__plugin")
            .defer(*(f"version__{name}" for name in CLAIM_DEFERRED))
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.is_finished:
            return None
        if run.status == RunStatus.RUNNING and run.heartbeat_at and run.heartbeat_at > stale_before:
            return None  # a live worker has it
        # One organization's claims are decided one at a time, so two workers can't both take
        # its last free place.
        organization = (
            Organization.objects.select_for_update().filter(pk=run.organization_id).first()
        )
        if organization is not None and run.version.organization_id == organization.pk:
            run.version.organization = organization  # read once, here
        now = timezone.now()
        wait = _wait_for_turn(run, stale_before)
        if wait is None:
            run.status = RunStatus.RUNNING
            run.attempts += 1
            run.started_at = run.started_at or now
            run.heartbeat_at = now
            if run.summary == WAITING:
                run.summary = ""
            run.save(update_fields=["status", "attempts", "started_at", "heartbeat_at", "summary"])
            return run
        reason = WAITING
        # The heartbeat says someone is looking after it, so the reaper doesn't re-send it.
        ValidationRun.objects.filter(pk=run.pk).update(summary=reason, heartbeat_at=now)
    raise RunLater(wait, reason)


def _wait_for_turn(run: ValidationRun, stale_before) -> float | None:
    """None when the organization has a free place, else how long to wait before asking again."""
    mine = ValidationRun.objects.filter(organization_id=run.organization_id)
    running = mine.filter(status=RunStatus.RUNNING, heartbeat_at__gt=stale_before).count()
    if running < settings.VALIDATION_MAX_RUNS_PER_ORGANIZATION:
        return None
    ahead = mine.filter(status=RunStatus.QUEUED, created_at__lt=run.created_at).count()
    return min(WAIT_STEP_SECONDS * (ahead + 1), MAX_WAIT_SECONDS)


def execute_run(run_id: int, *, final_attempt: bool = True) -> ValidationRun | None:
    """Run every stage. With `final_attempt` False, a transient fetch failure that the run's
    budget can still afford to retry puts the run back in the queue and raises RunLater."""
    run = claim_run(run_id)
    if run is None:
        return None
    budget = run_budget.RunBudget.for_run(run)
    context = RunContext(run, budget)
    try:
        with run_budget.active(budget):
            finished = _execute(run, context, final_attempt=final_attempt)
    except BaseException:  # a retry (RunLater), or a crash that rolled the verdict back
        context.save_budget()
        raise
    if not context.budget_recorded:
        context.save_budget()
    return finished


def _execute(run: ValidationRun, context: RunContext, *, final_attempt: bool) -> ValidationRun:
    budget = context.budget
    version = run.version
    try:
        fetched = _fetch_stage(run, version, context)
    except TransientFetchFailure as failure:
        if failure.timed_out:
            budget.note_timeout(failure.host)
        delay = None if final_attempt else run_budget.retry_delay(run.attempts)
        if delay is not None and budget.allows_retry(
            host=failure.host, timed_out=failure.timed_out, delay=delay
        ):
            summary = "Retrying: " + failure.finding.message[:280]
            ValidationRun.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED, summary=summary)
            raise RunLater(delay, summary) from failure
        fetched = FetchedDocuments(findings=[failure.finding])
    if run.trigger == RunTrigger.REVALIDATION:
        return _finish_revalidation(run, version, fetched, context)
    if (
        fetched is not None
        and not fetched.usable
        and fetched.openapi is None
        and fetched.manifest is None
    ):
        return _finish(run, version, list(fetched.findings), report=None, context=context)
    if fetched is not None:
        version, run = _attach_content(run, version, fetched, context)
    return _check_and_finish(run, version, list(fetched.findings) if fetched else [], context)


def _fetch_stage(run, version, context) -> FetchedDocuments | None:
    if version.source_kind == SourceKind.UPLOAD:
        if version.content_sha256:
            return None
        # A new upload: its documents are attached (and its plugin identified) like fetched ones.
        return FetchedDocuments(
            manifest=_bytes(version.raw_manifest),
            manifest_content_type=version.manifest_content_type,
            openapi=_bytes(version.raw_openapi),
            openapi_content_type=version.openapi_content_type,
            origin=version.origin,
        )
    needs_fetch = not version.content_sha256 or run.trigger == RunTrigger.REVALIDATION
    if not needs_fetch:
        return None
    if version.source_kind == SourceKind.MANIFEST_URL:
        return fetch_from_manifest_url(version.manifest_url, context.stage)
    return fetch_from_openapi_url(version.openapi_url, context.stage)


def _bytes(value) -> bytes | None:
    return bytes(value) if value is not None else None


def _attach_content(
    run: ValidationRun, version: PluginVersion, fetched: FetchedDocuments, context: RunContext
) -> tuple[PluginVersion, ValidationRun]:
    """Give a new version its content, merging with what already exists: a known
    name_for_model + origin is that plugin, and identical content is the existing version. A
    provisional plugin left without versions by the merge is removed. The documents are
    parsed first, outside the transaction that records the result (and locks the plugin). The
    run moves to the checking stage in the same transaction (one commit fewer per run)."""
    identity = identify_documents(manifest=fetched.manifest, openapi=fetched.openapi)
    return _record_content(run, version, fetched, identity, context)


@transaction.atomic
def _record_content(run, version, fetched: FetchedDocuments, identity, context: RunContext):
    provisional = version.plugin
    plugin = (
        find_plugin(
            organization=version.organization,
            name_for_model=identity.name_for_model,
            origin=fetched.origin,
        )
        or provisional
    )
    if plugin.pk != provisional.pk:
        version.plugin = plugin
        if not plugin.source_url:
            Plugin.objects.filter(pk=plugin.pk).update(source_url=provisional.source_url)
    sha = content_sha256(manifest=fetched.manifest, openapi=fetched.openapi, origin=fetched.origin)
    existing_id, number = lock_numbering(plugin, content_sha256=sha)
    if existing_id is not None:
        existing = PluginVersion.objects.get(pk=existing_id)
        run.version = existing
        run.save(update_fields=["version"])  # before the version goes: it cascades to its runs
        version.delete()
        version = existing
    else:
        # Only what changed is written (an upload's documents are already stored).
        changed = _assign(
            version,
            raw_manifest=fetched.manifest,
            raw_openapi=fetched.openapi,
            manifest_content_type=fetched.manifest_content_type,
            openapi_content_type=fetched.openapi_content_type,
            manifest_url=fetched.manifest_url or version.manifest_url,
            openapi_url=fetched.openapi_url or version.openapi_url,
            origin=fetched.origin,
            content_sha256=sha,
            number=number,
        )
        _save_unvalidated(version, [*changed, "plugin"])
        if identity.name_for_model and not plugin.name_for_model:
            Plugin.objects.filter(pk=plugin.pk).update(name_for_model=identity.name_for_model)
    if plugin.pk != provisional.pk:
        Plugin.objects.filter(pk=provisional.pk, versions__isnull=True).delete()
    context.advance(RunStage.CHECKING)
    ValidationRun.objects.filter(pk=run.pk).update(
        stage=run.stage,
        stage_timings=run.stage_timings,
        heartbeat_at=run.heartbeat_at,
    )
    return version, run


def _save_unvalidated(version: PluginVersion, fields: list[str]) -> None:
    """Save `fields` of a version not validated yet in one UPDATE whose condition is what
    PluginVersion.save would read first; a version validated meanwhile gets the guarded save.
    A field still deferred (CLAIM_DEFERRED) was not changed here: it is left as stored."""
    version.refresh_summary()
    deferred = version.get_deferred_fields()
    fields = [name for name in fields if name not in deferred]
    values = {name: getattr(version, name) for name in fields}
    if not PluginVersion.objects.filter(pk=version.pk, validated_at__isnull=True).update(**values):
        version.save(update_fields=fields)


def _assign(instance, **values) -> list[str]:
    """Set the fields whose value differs; return their names."""
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, values[name])
    return changed


def _input_for(version: PluginVersion) -> PluginInput:
    return PluginInput(
        manifest=bytes(version.raw_manifest) if version.raw_manifest is not None else None,
        openapi=bytes(version.raw_openapi) if version.raw_openapi is not None else None,
        origin=version.origin or None,
        manifest_url=version.manifest_url or None,
        openapi_url=version.openapi_url or None,
        manifest_content_type=version.manifest_content_type or None,
        openapi_content_type=version.openapi_content_type or None,
        bundled_refs={url: text.encode() for url, text in (version.bundled_refs or {}).items()},
        # Read (or issued) only when the manifest's auth scheme asks for one.
        expected_verification_token=lambda: verification_token_for(plugin=version.plugin).token,
    )


def _check_and_finish(run, version, findings: list[Finding], context) -> ValidationRun:
    if version.raw_manifest is None and version.raw_openapi is None:
        return _finish(run, version, findings, report=None, context=context)
    if run.stage != RunStage.CHECKING:  # new content moved the run there as it was recorded
        context.stage(RunStage.CHECKING)
    report = validate_plugin(_input_for(version))
    if report.remote_refs and not version.validated_at:
        bundled, ref_findings = fetch_bundled_refs(report.remote_refs, version.origin)
        findings += ref_findings
        if bundled:
            version.bundled_refs = {**(version.bundled_refs or {}), **bundled}
            version.save(update_fields=["bundled_refs"])
            report = validate_plugin(_input_for(version))
    findings += list(report.findings)
    # The links (logo, legal page) are checked after the verdict by their own task
    # (plugins.ingest.link_stage): their problems are warnings, and waiting on a publisher's
    # host would hold this worker's slot.
    links = LinkCheck.PENDING if report.plugin else LinkCheck.NONE
    return _finish(run, version, findings, report=report, context=context, links=links)


def _previous_validated(version: PluginVersion) -> PluginVersion | None:
    if (version.number or 0) <= 1:
        return None  # numbers start at 1: a first version has none before it
    return (
        PluginVersion.objects.filter(
            plugin=version.plugin,
            number__lt=version.number or 0,
            validation_state=ValidationState.PASSED,
        )
        .order_by("-number")
        .first()
    )


# What a verdict writes on its version (its content is already stored), with the small summary
# columns PluginVersion.save derives from `normalized`. The logo comes later, with the links.
VERDICT_FIELDS = [
    "validation_state",
    "normalized",
    "normalized_openapi",
    "diff",
    "validated_at",
    "operations",
    "auth_type",
    "operation_count",
]


@transaction.atomic
def _finish(
    run, version, findings: list[Finding], *, report, context, links=LinkCheck.NONE
) -> ValidationRun:
    context.advance(RunStage.DONE)
    failed = any(f.severity == Severity.ERROR for f in findings)
    validates_version = version.validated_at is None and bool(version.content_sha256)
    _store_findings(run, findings)
    run.status = RunStatus.FAILED if failed else RunStatus.PASSED
    run.finished_at = timezone.now()
    run.summary = _summary(findings)
    run.links = links
    run.links_keep_logo = links == LinkCheck.PENDING and validates_version
    fields = ["status", "finished_at", "summary", "stage", "stage_timings", "heartbeat_at"]
    fields += ["links", "links_keep_logo"]
    run.save(update_fields=[*fields, *context.record_budget()])
    if links == LinkCheck.PENDING:
        send_link_check(run.pk)
    if validates_version:
        version.validation_state = ValidationState.FAILED if failed else ValidationState.PASSED
        version.normalized = report.plugin if report else None
        version.normalized_openapi = report.normalized_openapi if report else None
        if report and report.plugin and not failed:
            previous = _previous_validated(version)
            if previous is not None:
                version.diff = diff_versions(previous.normalized, report.plugin)
            _refresh_plugin_display(version.plugin, report.plugin)
        version.validated_at = timezone.now()
        _save_unvalidated(version, VERDICT_FIELDS)
    elif not version.content_sha256:
        # Nothing could be fetched: the version never got content and never will.
        PluginVersion.objects.filter(pk=version.pk).update(validation_state=ValidationState.FAILED)
    return run


def _finish_revalidation(run, version, fetched, context) -> ValidationRun:
    """A scheduled re-check of a published version: drift when the live documents changed."""
    findings: list[Finding] = list(fetched.findings) if fetched else []
    if fetched is not None and fetched.openapi is not None:
        live = content_sha256(
            manifest=fetched.manifest, openapi=fetched.openapi, origin=fetched.origin
        )
        if live != version.content_sha256:
            run.drift = True
            findings.append(
                Finding(
                    severity=Severity.WARNING,
                    code="drift.documents_changed",
                    document="plugin",
                    pointer="",
                    message="The live documents differ from the published version.",
                    hint="Register the new content as a new version and submit it for review.",
                )
            )
            Plugin.objects.filter(pk=version.plugin_id).update(drift_detected_at=timezone.now())
    context.stage(RunStage.CHECKING)
    report = validate_plugin(_input_for(version))
    findings += list(report.findings)
    run.save(update_fields=["drift"])
    return _finish(run, version, findings, report=report, context=context)


def _refresh_plugin_display(plugin: Plugin, normalized: dict) -> None:
    """Show the new version's name and description; the storefront's caches are forgotten
    only when the plugin is published. That is decided by the UPDATE's own condition: once it
    matched, the row stays locked until this transaction commits, so a publication (which
    forgets the caches itself) comes after it and can't be missed."""
    values = {
        "name": (normalized.get("name_for_human") or plugin.name)[:100],
        "description": (normalized.get("description_for_human") or "")[:1000],
        "logo_url": (normalized.get("logo_url") or "")[:500],
        "name_for_model": (normalized.get("name_for_model") or plugin.name_for_model)[:100],
    }
    if Plugin.objects.filter(pk=plugin.pk, published_version__isnull=True).update(**values):
        return
    Plugin.objects.filter(pk=plugin.pk).update(**values)
    catalog_changed()


def _store_findings(run: ValidationRun, findings: list[Finding]) -> None:
    if run.attempts > 1:  # a first attempt has none: findings are only saved with a verdict
        run.findings.all().delete()
    add_findings(run, findings)


def add_findings(run: ValidationRun, findings: list[Finding], *, after: int = 0) -> None:
    """Store `findings` on the run in their order, numbered from `after` (the link stage adds
    its warnings after those the verdict stored)."""
    RunFinding.objects.bulk_create(
        [
            RunFinding(
                run=run,
                position=after + i,
                severity=str(f.severity),
                code=f.code[:120],
                document=f.document[:20],
                pointer=f.pointer[:1000],
                message=f.message,
                hint=f.hint,
            )
            for i, f in enumerate(findings)
        ]
    )


def _summary(findings: list[Finding]) -> str:
    return summarize({s: sum(1 for f in findings if f.severity == s) for s in Severity})


def summarize(counts: dict[str, int]) -> str:
    """A run's summary line from its findings counted by severity."""
    return (
        f"{counts.get(Severity.ERROR, 0)} errors, {counts.get(Severity.WARNING, 0)} warnings, "
        f"{counts.get(Severity.INFO, 0)} notes"
    )


def mark_run_error(run_id: int, reason: str) -> None:
    ValidationRun.objects.filter(pk=run_id).exclude(
        status__in=[RunStatus.PASSED, RunStatus.FAILED]
    ).update(status=RunStatus.ERROR, finished_at=timezone.now(), summary=reason[:300])
