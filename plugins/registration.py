"""Registering plugins: by manifest or OpenAPI URL (fetched later by the worker) or by upload.

A submission always yields (plugin, version, run), quickly and without parsing anything: until
the worker has read the documents, the plugin and version are provisional, and the run moves to
the publisher's existing plugin (same name_for_model and origin) or existing version (identical
content) once it knows. Byte-identical uploads are recognised at once (`created: False`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from accounts.audit import record_event
from accounts.models import Organization, User
from plugins.ingest.queue import queue_run
from plugins.models import Plugin, PluginVersion, SourceKind, ValidationRun, Visibility
from plugins.outbound import FetchError, precheck
from plugins.validation.domains import origin_of
from plugins.versions import content_sha256

MANIFEST_PATH = "/.well-known/ai-plugin.json"


@dataclass(frozen=True)
class Submission:
    plugin: Plugin
    version: PluginVersion
    run: ValidationRun
    created: bool  # False when identical content was already registered


class SubmissionRejected(ValidationError):
    """A submission refused before any work is queued; `code` is stable for API clients."""

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code)
        self.code = code
        self.message = message


def classify_url(url: str) -> tuple[SourceKind, str, str]:
    """(kind, url to fetch, its host): a bare domain or a manifest path means the manifest."""

    candidate = url.strip()
    if "://" not in candidate and candidate and not candidate.startswith("/"):
        candidate = f"https://{candidate}"
    try:
        # Parsed by the outbound client's own parser, so what we store is what it will fetch.
        checked = precheck(candidate)
    except FetchError as exc:
        raise SubmissionRejected(exc.code, exc.message) from None
    if checked.path in ("", "/"):
        return SourceKind.MANIFEST_URL, checked.with_path(MANIFEST_PATH), checked.host
    if checked.path.endswith("ai-plugin.json"):
        return SourceKind.MANIFEST_URL, checked.url, checked.host
    return SourceKind.OPENAPI_URL, checked.url, checked.host


def _unique_plugin_slug(organization: Organization, base: str) -> str:
    root = slugify(base)[:50] or "plugin"
    slug, n = root, 1
    while Plugin.objects.filter(organization=organization, slug=slug).exists():
        n += 1
        slug = f"{root}-{n}"
    return slug


def _check_visibility(visibility: str) -> Visibility:
    try:
        return Visibility(visibility)
    except ValueError:
        raise SubmissionRejected(
            "submission.visibility.invalid", "visibility must be public, private or unlisted."
        ) from None


@transaction.atomic
def register_plugin_by_url(
    *,
    organization: Organization,
    url: str,
    visibility: str,
    submitted_by: User | None,
    actor_label: str = "",
) -> Submission:
    visibility = _check_visibility(visibility)
    kind, fetch_url, host = classify_url(url)
    origin = origin_of(fetch_url) or host
    plugin = Plugin.objects.filter(organization=organization, source_url=fetch_url).first()
    if plugin is None:
        plugin = Plugin.objects.create(
            organization=organization,
            slug=_unique_plugin_slug(organization, host),
            name=host[:100],
            origin=origin,
            source_url=fetch_url,
            visibility=visibility,
        )
    version = PluginVersion.objects.create(
        organization=organization,
        plugin=plugin,
        source_kind=kind,
        origin=origin,
        manifest_url=fetch_url if kind == SourceKind.MANIFEST_URL else "",
        openapi_url=fetch_url if kind == SourceKind.OPENAPI_URL else "",
        submitted_by=submitted_by,
    )
    _record_submission(plugin, version, submitted_by, actor_label)
    return Submission(plugin=plugin, version=version, run=queue_run(version=version), created=True)


@transaction.atomic
def register_plugin_by_upload(
    *,
    organization: Organization,
    manifest: bytes | None,
    openapi: bytes | None,
    origin: str,
    visibility: str,
    submitted_by: User | None,
    actor_label: str = "",
) -> Submission:
    visibility = _check_visibility(visibility)
    if not manifest and not openapi:
        raise SubmissionRejected(
            "submission.documents.missing", "Upload a manifest, an OpenAPI document, or both."
        )
    origin = normalize_origin(origin)
    # Nothing is parsed here: the documents are untrusted and may be slow to parse, so the
    # worker reads them (outside any transaction), identifies the plugin and merges the upload
    # into it. Only byte-identical content is recognised at once.
    sha = content_sha256(manifest=manifest, openapi=openapi, origin=origin)
    existing = (
        PluginVersion.objects.filter(organization=organization, content_sha256=sha)
        .select_related("plugin")
        .order_by("created_at")
        .first()
    )
    if existing is not None:
        run = existing.runs.order_by("-created_at").first() or queue_run(version=existing)
        return Submission(plugin=existing.plugin, version=existing, run=run, created=False)
    plugin = Plugin.objects.create(
        organization=organization,
        slug=_unique_plugin_slug(organization, origin or "upload"),
        name=(origin or "Uploaded plugin")[:100],
        origin=origin,
        visibility=visibility,
    )
    version = PluginVersion.objects.create(
        organization=organization,
        plugin=plugin,
        source_kind=SourceKind.UPLOAD,
        origin=origin,
        raw_manifest=manifest or None,
        raw_openapi=openapi or None,
        submitted_by=submitted_by,
    )
    _record_submission(plugin, version, submitted_by, actor_label)
    return Submission(plugin=plugin, version=version, run=queue_run(version=version), created=True)


def _record_submission(
    plugin: Plugin, version: PluginVersion, submitted_by: User | None, actor_label: str
) -> None:
    source = version.manifest_url or version.openapi_url or "upload"
    record_event(
        organization=plugin.organization,
        action="plugin.version_registered",
        actor=submitted_by,
        actor_label=actor_label,
        target=plugin.name,
        source=source,
        visibility=plugin.visibility,
    )


def normalize_origin(origin: str) -> str:
    """A declared origin in the stored form (plugins.validation.domains.origin_of): a bare
    host means https on port 443; '' when unknown."""
    value = (origin or "").strip().lower()
    if not value:
        return ""
    url = value if "://" in value else f"https://{value}"
    normalized = origin_of(url)
    host = urlsplit(url).hostname or ""
    if not normalized or any(ch in host for ch in "/\\@ "):
        raise SubmissionRejected(
            "submission.origin.invalid",
            "origin must be a host such as api.example.com (or http://localhost:8001).",
        )
    return normalized


def revalidate_plugin(
    *, plugin: Plugin, submitted_by: User | None, actor_label: str = ""
) -> Submission:
    """Fetch a URL-registered plugin's live documents again and validate them: unchanged
    content lands on the existing version, changed content becomes a new one."""
    if not plugin.source_url:
        raise SubmissionRejected(
            "submission.revalidate.no_source",
            "Only a plugin registered by URL can be checked again; upload its new documents "
            "instead.",
        )
    return register_plugin_by_url(
        organization=plugin.organization,
        url=plugin.source_url,
        visibility=plugin.visibility,
        submitted_by=submitted_by,
        actor_label=actor_label,
    )
