"""An installation is pinned to one approved version by its content hash, and to the exact
validated documents the marketplace serves from it.

At install, pin and upgrade the installation records the version's `content_sha256` (what was
reviewed) and `documents_sha256`, a digest of the version's validated documents as stored
(`normalized`, what tools, calls and the MCP gateway read; `normalized_openapi`, what the
passthrough serves). Before those documents are used, `pin_problem` compares: a version row
whose hash or documents changed after the pin (a bad migration, a manual edit, a compromised
writer) makes the installation serve nothing, with a 409 and an audit event (at most one per
installation every few minutes), until an administrator pins a version again.
"""

from __future__ import annotations

import hashlib
import json

from django.core.cache import cache

from accounts.audit import record_event

PIN_MISMATCH = (
    "The pinned version's documents no longer match the content hash they were pinned with; "
    "nothing is served from it until an administrator pins a version again."
)
AUDIT_EVERY_SECONDS = 300


def documents_digest(normalized: object, normalized_openapi: object) -> str:
    """A digest of the validated documents, as read back from the database."""
    text = json.dumps(
        [normalized, normalized_openapi], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def stored_digest(version_id: int) -> str:
    """The digest of a version's documents as stored (never an in-memory copy, whose numbers
    the database may write differently)."""
    from plugins.models import PluginVersion

    row = PluginVersion.objects.filter(pk=version_id).values_list(
        "normalized", "normalized_openapi"
    )
    normalized, openapi = row.get()
    return documents_digest(normalized, openapi)


def pin_fields(version) -> dict:
    """The fields that pin an installation to `version`."""
    return {
        "pinned_sha256": version.content_sha256,
        "documents_sha256": stored_digest(version.pk),
    }


def pin_problem(installation, digest: str | None = None) -> str | None:
    """Why the installation's pinned version must not be served, or None.

    `digest` is the digest of the documents about to be used; by default, of the version's
    documents loaded on `installation.version`.
    """
    version = installation.version
    if digest is None:
        digest = documents_digest(version.normalized, version.normalized_openapi)
    pinned = installation.pinned_sha256
    if pinned == version.content_sha256 and digest == installation.documents_sha256:
        return None
    if cache.add(f"installations:pin-mismatch:{installation.pk}", 1, AUDIT_EVERY_SECONDS):
        record_event(
            organization=installation.organization,
            action="installation.pin_mismatch",
            actor=None,
            target=f"installation:{installation.pk}",
            version=version.number,
            pinned_sha256=pinned,
            content_sha256=version.content_sha256,
        )
    return PIN_MISMATCH
