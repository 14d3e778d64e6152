"""An installation is pinned to one approved version by its content hash, and to the exact
validated documents the marketplace serves from it.

At install, pin and upgrade the installation records the version's `content_sha256` (what was
reviewed) and `documents_sha256`, a digest of the version's validated documents as stored
(`normalized`, what tools, calls and the MCP gateway read; `normalized_openapi`, what the
passthrough serves). On PostgreSQL the digest is the one the database keeps itself
(`PluginVersion.documents_sha256`, a generated column: recomputed on every write of the
documents, by anyone, and never writable), and the query that loads an installation with its
version's documents compares it with the pin (`pin_intact`), so checking costs a comparison of
two short strings, however large the documents; on SQLite, which keeps no digest, the loaded
documents are hashed in Python. Before the documents are used, `pin_problem` reads that
answer: a version row whose hash or documents changed after the pin (a bad migration, a manual
edit, a compromised writer) makes the installation serve nothing, with a 409 and an audit event
(at most one per installation every few minutes), until an administrator pins a version again.
"""

from __future__ import annotations

import hashlib
import json

from django.core.cache import cache
from django.db.models import BooleanField, ExpressionWrapper, F, Q

from accounts.audit import record_event

PIN_MISMATCH = (
    "The pinned version's documents no longer match the content hash they were pinned with; "
    "nothing is served from it until an administrator pins a version again."
)
AUDIT_EVERY_SECONDS = 300


def documents_digest(normalized: object, normalized_openapi: object) -> str:
    """A digest of the validated documents computed in Python, for databases that keep none
    (SQLite; PostgreSQL keeps `PluginVersion.documents_sha256`)."""
    text = json.dumps(
        [normalized, normalized_openapi], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def stored_digest(version_id: int) -> str:
    """The digest of a version's documents as stored: the one the database keeps, or on
    SQLite one computed from the documents read back (never an in-memory copy, whose numbers
    the database may write differently)."""
    from plugins.models import PluginVersion

    row = PluginVersion.objects.filter(pk=version_id)
    digest = row.values_list("documents_sha256", flat=True).get()
    if digest is not None:
        return digest
    normalized, openapi = row.values_list("normalized", "normalized_openapi").get()
    return documents_digest(normalized, openapi)


def loaded_digest(version) -> str:
    """The digest of the documents loaded on `version`: the database's, read with them, or on
    SQLite one computed from them."""
    if version.documents_sha256 is not None:
        return version.documents_sha256
    return documents_digest(version.normalized, version.normalized_openapi)


def pin_intact() -> ExpressionWrapper:
    """The pin check as SQL, for the query that loads installations with their versions
    (`.annotate(pin_intact=pin_intact())`): true when the version's content hash and the
    digest PostgreSQL keeps of its documents are those the installation was pinned with. NULL
    where the database keeps no digest (SQLite, unless the content hash alone differs):
    `pin_problem` then hashes the loaded documents."""
    return ExpressionWrapper(
        Q(pinned_sha256=F("version__content_sha256"))
        & Q(documents_sha256=F("version__documents_sha256")),
        output_field=BooleanField(null=True),
    )


def pin_fields(version) -> dict:
    """The fields that pin an installation to `version`."""
    return {
        "pinned_sha256": version.content_sha256,
        "documents_sha256": stored_digest(version.pk),
    }


def pin_problem(installation, digest: str | None = None) -> str | None:
    """Why the installation's pinned version must not be served, or None.

    An installation loaded by the selectors carries the database's answer (`pin_intact`),
    computed in the same query that loaded the version's documents, so nothing is hashed here;
    otherwise (SQLite, or an installation loaded some other way) the documents loaded on
    `installation.version` are compared. `digest`, when given, is the digest of documents
    about to be used that were not loaded with the installation (the cached tools the lookup
    API serves): they must match the pin too.
    """
    version = installation.version
    pinned = installation.pinned_sha256
    intact = getattr(installation, "pin_intact", None)
    if intact is None:
        used = digest if digest is not None else loaded_digest(version)
        intact = pinned == version.content_sha256 and used == installation.documents_sha256
    elif digest is not None:
        intact = intact and digest == installation.documents_sha256
    if intact:
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
