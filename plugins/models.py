"""Plugins, their immutable versions, validation runs and findings.

Every tenant-owned row carries the publisher organization, so the tenancy gate can scope it
with a single filter.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from accounts.models import Organization


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    PRIVATE = "private", "Private to the publisher"
    UNLISTED = "unlisted", "Unlisted (anyone with the link)"


class ReviewState(models.TextChoices):
    DRAFT = "draft", "Not submitted"
    PENDING = "pending", "Awaiting review"
    APPROVED = "approved", "Published"
    REJECTED = "rejected", "Rejected"
    SUSPENDED = "suspended", "Suspended"


# A plugin with a published version is up in these states: approved, or approved with a newer
# candidate (or a wider visibility) awaiting review. Rejected and suspended plugins are down.
PUBLISHED_STATES = (ReviewState.APPROVED, ReviewState.PENDING)


def new_public_id() -> str:
    """An unguessable id for public links: unlisted plugins must not be enumerable."""
    return secrets.token_urlsafe(12)


class Plugin(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="plugins")
    slug = models.SlugField(max_length=60)
    name_for_model = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    logo_url = models.URLField(max_length=500, blank=True)
    origin = models.CharField(
        max_length=255, blank=True, help_text="Host the plugin is served from; empty when unknown."
    )
    source_url = models.URLField(
        max_length=1000,
        blank=True,
        help_text="Where new versions are fetched from, if registered by URL.",
    )
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    review_state = models.CharField(
        max_length=16, choices=ReviewState.choices, default=ReviewState.DRAFT
    )
    review_reason = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    candidate_version = models.ForeignKey(
        "PluginVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The version submitted for review.",
    )
    published_version = models.ForeignKey(
        "PluginVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_visibility = models.CharField(
        max_length=16,
        choices=Visibility.choices,
        blank=True,
        help_text="A wider visibility asked for a published plugin; it applies once approved.",
    )
    # What the catalogue shows: copied from the published version when an operator approves it,
    # so a newer, unreviewed version never changes the listing. name/description/logo_url above
    # are the publisher's working copy (their latest validated version).
    listed_name = models.CharField(max_length=100, blank=True)
    listed_description = models.TextField(blank=True)
    listed_logo_url = models.URLField(
        max_length=500, blank=True, help_text="Only a vetted http(s) URL, or empty."
    )
    drift_detected_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Put away by its publisher: out of their list, never submitted or installed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # PostgreSQL keeps this in step with the reviewed listing (listed_name, name_for_model,
    # listed_description; a trigger, see migration 0007; GIN-indexed). Never
    # description_for_model, never unreviewed text. Unused on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "slug"], name="plugin_slug_unique_per_publisher"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "name_for_model", "origin"]),
            # Lists by name (the API, the publisher console) read the first page off it.
            models.Index(fields=["name", "id"], name="plugin_name_id"),
            # The storefront and the home page: listed plugins, most recently updated first.
            models.Index(
                F("updated_at").desc(),
                F("id").desc(),
                condition=Q(
                    review_state__in=["approved", "pending"],
                    visibility="public",
                    published_version__isnull=False,
                ),
                name="plugin_listed_recent",
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def refuse_if_archived(self, doing: str) -> None:
        """The one rule for what an archived plugin can't be: `doing` is "installed"…"""
        if self.archived_at is not None:
            raise ValidationError(f"An archived plugin can't be {doing}; unarchive it first.")

    @property
    def is_published(self) -> bool:
        """An operator approved a version, and it stays up while a newer one is in review."""
        return self.published_version_id is not None and self.review_state in PUBLISHED_STATES

    @property
    def is_listed(self) -> bool:
        return self.visibility == Visibility.PUBLIC and self.is_published


class SourceKind(models.TextChoices):
    MANIFEST_URL = "manifest_url", "Manifest URL"
    OPENAPI_URL = "openapi_url", "OpenAPI URL"
    UPLOAD = "upload", "Upload"


class ValidationState(models.TextChoices):
    PENDING = "pending", "Pending"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


# Fields of a version that may never change once it has been validated.
FROZEN_VERSION_FIELDS = (
    "logo",
    "raw_manifest",
    "raw_openapi",
    "content_sha256",
    "normalized",
    "normalized_openapi",
    "bundled_refs",
    "manifest_url",
    "openapi_url",
    "origin",
)


# A version's columns that lists and pages never need: documents and images, each up to megabytes.
LARGE_VERSION_FIELDS = (
    "raw_manifest",
    "raw_openapi",
    "normalized",
    "normalized_openapi",
    "bundled_refs",
    "logo",
)


class DocumentsDigest(models.Func):
    """The SHA-256 (hex) of a version's validated documents, `normalized` and
    `normalized_openapi`, as PostgreSQL stores them: the SQL function `plugin_documents_sha256`
    (plugins migration 0009) over their jsonb text. A generated column keeps it, so the
    database recomputes it whenever the documents change, whoever changes them, and nobody can
    write it. SQLite keeps none (NULL): there the pin hashes the documents in Python
    (plugins.installations.integrity)."""

    function = "plugin_documents_sha256"
    arity = 2
    output_field = models.CharField(max_length=64)

    def as_sqlite(self, compiler, connection, **extra_context):
        return "NULL", []


class PluginVersion(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="plugin_versions"
    )
    plugin = models.ForeignKey(Plugin, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(
        null=True, blank=True, help_text="Assigned once the content is known."
    )
    source_kind = models.CharField(max_length=16, choices=SourceKind.choices)
    manifest_url = models.URLField(max_length=1000, blank=True)
    openapi_url = models.URLField(max_length=1000, blank=True)
    origin = models.CharField(max_length=255, blank=True)
    raw_manifest = models.BinaryField(null=True, blank=True)
    raw_openapi = models.BinaryField(null=True, blank=True)
    manifest_content_type = models.CharField(max_length=100, blank=True)
    openapi_content_type = models.CharField(max_length=100, blank=True)
    bundled_refs = models.JSONField(
        default=dict, blank=True, help_text="Same-domain remote $ref documents, by URL."
    )
    content_sha256 = models.CharField(max_length=64, blank=True)
    normalized = models.JSONField(null=True, blank=True)
    normalized_openapi = models.JSONField(null=True, blank=True)
    documents_sha256 = models.GeneratedField(
        expression=DocumentsDigest("normalized", "normalized_openapi"),
        output_field=models.CharField(max_length=64, null=True),
        db_persist=True,
        help_text="A digest of `normalized` and `normalized_openapi` kept by PostgreSQL "
        "(NULL on SQLite): what an installation's pin is checked against.",
    )
    logo = models.BinaryField(
        null=True,
        blank=True,
        editable=False,
        help_text="The logo as fetched at validation (raster formats only).",
    )
    logo_content_type = models.CharField(max_length=32, blank=True)
    diff = models.JSONField(
        null=True,
        blank=True,
        help_text="Operations added, removed and changed since the previous version.",
    )
    # What lists and pages show, derived from `normalized` on save so that they never have to
    # load (and decode) the large document columns.
    operations = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="Each operation's name, method, path and a short summary.",
    )
    operation_count = models.PositiveIntegerField(default=0, editable=False)
    auth_type = models.CharField(max_length=32, blank=True, editable=False)
    validation_state = models.CharField(
        max_length=16, choices=ValidationState.choices, default=ValidationState.PENDING
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    validated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plugin", "number"], name="version_number_unique"),
            models.UniqueConstraint(
                fields=["plugin", "content_sha256"],
                condition=~Q(content_sha256=""),
                name="identical_content_is_one_version",
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.plugin} v{self.number or '?'}"

    def save(self, *args, **kwargs):
        updating = self.pk is not None
        if updating:
            self._refuse_changes_once_validated()
        self.refresh_summary()
        super().save(*args, **kwargs)
        if updating:  # the database recomputed the documents' digest: read it when asked
            vars(self).pop("documents_sha256", None)

    def refresh_summary(self) -> None:
        """Derive the small display columns from `normalized` (a no-op while it's deferred)."""
        if "normalized" in self.get_deferred_fields():
            return
        self.operations, self.auth_type = summarize_normalized(self.normalized)
        self.operation_count = len(self.operations)

    def _refuse_changes_once_validated(self) -> None:
        stored = PluginVersion.objects.filter(pk=self.pk, validated_at__isnull=False)
        if not stored.exists():  # not validated yet: no need to read back its documents
            return
        stored = stored.values(*FROZEN_VERSION_FIELDS).first()
        if stored is None:
            return
        for field in FROZEN_VERSION_FIELDS:
            current = getattr(self, field)
            if isinstance(current, memoryview):
                current = bytes(current)
            before = stored[field]
            if isinstance(before, memoryview):
                before = bytes(before)
            if current != before:
                raise ValidationError(f"A validated version is immutable ({field} changed).")

    @property
    def label(self) -> str:
        return f"v{self.number}" if self.number else "pending"


SUMMARY_CHARS = 160


def summarize_normalized(normalized: dict | None) -> tuple[list[dict], str]:
    """(operations as lists and pages show them, auth type) of a normalised plugin."""
    if not normalized:
        return [], ""
    operations = []
    for op in normalized.get("operations") or []:
        summary = (op.get("summary") or op.get("description") or "").strip()
        if len(summary) > SUMMARY_CHARS:
            summary = summary[: SUMMARY_CHARS - 1] + "…"
        operations.append(
            {
                "name": op.get("name") or "",
                "method": op.get("method") or "",
                "path": op.get("path") or "",
                "summary": summary,
            }
        )
    auth = normalized.get("auth") or {}
    return operations, str(auth.get("type") or "none")[:32]


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Error"


TERMINAL_RUN_STATUSES = (RunStatus.PASSED, RunStatus.FAILED, RunStatus.ERROR)


class RunStage(models.TextChoices):
    QUEUED = "queued", "Queued"
    FETCHING_MANIFEST = "fetching_manifest", "Fetching manifest"
    FETCHING_SPEC = "fetching_spec", "Fetching OpenAPI document"
    CHECKING = "checking", "Checking"
    CHECKING_LINKS = "checking_links", "Checking links"
    DONE = "done", "Done"


class RunTrigger(models.TextChoices):
    SUBMISSION = "submission", "Submission"
    RETRY = "retry", "Retry after a crash"
    REVALIDATION = "revalidation", "Scheduled revalidation"


class ValidationRun(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="validation_runs"
    )
    version = models.ForeignKey(PluginVersion, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    stage = models.CharField(max_length=32, choices=RunStage.choices, default=RunStage.QUEUED)
    trigger = models.CharField(
        max_length=16, choices=RunTrigger.choices, default=RunTrigger.SUBMISSION
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    stage_timings = models.JSONField(default=dict, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    drift = models.BooleanField(
        default=False, help_text="The live documents differ from the version."
    )
    network_seconds = models.FloatField(
        default=0.0, help_text="Time spent waiting on the network, over all attempts."
    )
    timed_out_hosts = models.JSONField(
        default=list, blank=True, help_text="Hosts that timed out in an attempt of this run."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"validation run {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_RUN_STATUSES


class FindingSeverity(models.TextChoices):
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"
    INFO = "info", "Info"


class RunFinding(models.Model):
    run = models.ForeignKey(ValidationRun, on_delete=models.CASCADE, related_name="findings")
    position = models.PositiveIntegerField()
    severity = models.CharField(max_length=8, choices=FindingSeverity.choices)
    code = models.CharField(max_length=120)
    document = models.CharField(max_length=20, blank=True)
    pointer = models.CharField(max_length=1000, blank=True)
    message = models.TextField()
    hint = models.TextField(blank=True)

    class Meta:
        ordering = ["position"]
        indexes = [models.Index(fields=["code"], name="plugins_fin_code_bceded_idx")]

    def __str__(self) -> str:
        return f"{self.severity} {self.code}"


class PluginAwaitingReview(Plugin):
    """The operators' review queue in the admin console: plugins awaiting a decision."""

    class Meta:
        proxy = True
        verbose_name = "plugin awaiting review"
        verbose_name_plural = "review queue"
