"""Reads on installations, always scoped to one organization."""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.db.models import QuerySet

from accounts.models import Organization
from plugins.installations.integrity import documents_digest, pin_intact, pin_problem
from plugins.installations.models import AllowList, Installation
from plugins.installations.policy import Policy, policy_for
from plugins.models import PluginVersion
from plugins.tools import ToolSet, build_toolset, security_parameter_names


def installations_of(*, organization: Organization) -> QuerySet[Installation]:
    """The organization's installations with their versions, each carrying the database's
    check of its pin (`pin_intact`, read by integrity.pin_problem)."""
    return (
        Installation.objects.filter(organization=organization)
        .select_related("organization", "plugin", "version")
        .annotate(pin_intact=pin_intact())
    )


def installation_of(*, organization: Organization, installation_id: int) -> Installation | None:
    """The organization's installation with that id; None for missing and not-yours alike."""
    return installations_of(organization=organization).filter(pk=installation_id).first()


# What a call never reads of the pinned version: the documents as published, the logo, the
# bundled references, the diff and the catalogue's summary of the operations. (It reads
# `normalized`, `normalized_openapi` for the credential's scheme, and the two hashes.)
_NOT_READ_BY_CALLS = (
    "version__raw_manifest",
    "version__raw_openapi",
    "version__logo",
    "version__bundled_refs",
    "version__diff",
    "version__operations",
)


def installation_for_call(
    *, organization: Organization, installation_id: int
) -> Installation | None:
    """`installation_of` without the version's columns a call never reads, for the proxy's
    context load: what it loads is kept in the context cache and read on the event loop, where
    a deferred column would be a query (which Django refuses there), so nothing on the call
    path may read these."""
    return (
        installations_of(organization=organization)
        .defer(*_NOT_READ_BY_CALLS)
        .filter(pk=installation_id)
        .first()
    )


# -- grown by the proxy issue ----------------------------------------------------------------

_TOOLSETS: OrderedDict[tuple, tuple[ToolSet, dict]] = OrderedDict()
_TOOLSETS_MAX = 512
_toolsets_lock = threading.Lock()
_SUMMARY_KEYS = ("name_for_model", "name_for_human", "description_for_model", "server_url")


def _cached(key: tuple) -> tuple[ToolSet, dict] | None:
    with _toolsets_lock:
        cached = _TOOLSETS.get(key)
        if cached is not None:
            _TOOLSETS.move_to_end(key)
        return cached


def _key(version: PluginVersion) -> tuple:
    # The database's digest of the documents (None on SQLite) is part of the key: documents
    # changed under a version are other tools, never the cached ones.
    return (version.pk, version.content_sha256, version.documents_sha256)


def _build(key: tuple, normalized: dict | None, openapi: dict | None, digest: str | None):
    # What the cached tools are built from: checked against each installation's pin.
    if digest is None:  # a database that keeps no digest (SQLite)
        digest = documents_digest(normalized, openapi)
    normalized = normalized or {}
    toolset = build_toolset(normalized, security_names=security_parameter_names(openapi))
    summary = {k: normalized.get(k) for k in _SUMMARY_KEYS}
    summary["auth_type"] = (normalized.get("auth") or {}).get("type") or "none"
    summary["documents_sha256"] = digest
    with _toolsets_lock:
        _TOOLSETS[key] = (toolset, summary)
        while len(_TOOLSETS) > _TOOLSETS_MAX:
            _TOOLSETS.popitem(last=False)
    return toolset, summary


_DOCUMENTS = ("pk", "content_sha256", "documents_sha256", "normalized", "normalized_openapi")


def _build_from_rows(rows) -> list[tuple[ToolSet, dict]]:
    return [
        _build((pk, sha, digest), normalized, openapi, digest)
        for pk, sha, digest, normalized, openapi in rows
    ]


def toolset_of(version: PluginVersion) -> ToolSet:
    """The tool definitions of a validated version, built once per process and version.

    Versions are immutable once validated, and the key holds the digest of their documents,
    so a cached entry never goes stale.
    """
    return tools_and_summary_of(version)[0]


def tools_and_summary_of(version: PluginVersion) -> tuple[ToolSet, dict]:
    """(tools, {name_for_model, name_for_human, description_for_model, server_url,
    auth_type, documents_sha256}) of a version."""
    cached = _cached(_key(version))
    if cached is not None:
        return cached
    if {"normalized", "normalized_openapi"} & version.get_deferred_fields():
        # The documents and their digest read together: the entry is of what was read.
        (built,) = _build_from_rows(
            PluginVersion.objects.filter(pk=version.pk).values_list(*_DOCUMENTS)
        )
        return built
    return _build(
        _key(version), version.normalized, version.normalized_openapi, version.documents_sha256
    )


def warm_toolsets(versions: list[PluginVersion]) -> None:
    """Build the tools of the versions not cached yet, loading their documents in one query
    (for callers that deferred them)."""
    missing = {v.pk for v in versions if _cached(_key(v)) is None}
    if missing:
        _build_from_rows(PluginVersion.objects.filter(pk__in=missing).values_list(*_DOCUMENTS))


def installations_for_lookup(*, organization: Organization) -> QuerySet[Installation]:
    """`installations_of` without the versions' documents (the cached tools stand in)."""
    return installations_of(organization=organization).defer(
        "version__normalized",
        "version__normalized_openapi",
        "version__raw_manifest",
        "version__raw_openapi",
        "version__logo",
        "version__bundled_refs",
        "version__diff",
    )


def allowed_values_of(*, installation: Installation, user) -> dict:
    """The member's allow-list values on the installation (the default for members when they
    have no row of their own)."""
    row = AllowList.objects.filter(installation=installation, user=user).first()
    return row.values if row is not None else dict(installation.default_allowed or {})


def allowed_values_for_many(*, installations: list[Installation], user) -> dict[int, dict]:
    """`allowed_values_of` for many installations in one query."""
    rows = {
        row.installation_id: row.values
        for row in AllowList.objects.filter(installation__in=installations, user=user)
    }
    return {inst.pk: rows.get(inst.pk, dict(inst.default_allowed or {})) for inst in installations}


def policy_of(*, installation: Installation, user) -> Policy:
    """The one policy for a member, after checking the pinned version's documents loaded on
    `installation.version` (which the caller then uses) against the pin."""
    return policy_for(
        installation=installation,
        user=user,
        toolset=toolset_of(installation.version),
        allowed_values=allowed_values_of(installation=installation, user=user),
        pin_problem=pin_problem(installation),
    )


def allow_list_of(*, installation: Installation, user) -> AllowList | None:
    return AllowList.objects.filter(installation=installation, user=user).first()


def guarded_arguments_of(installation: Installation) -> dict[str, str]:
    """The installation's guarded arguments and their kinds: those its pinned spec marks
    (x-marketplace-resource) and those its admins marked."""
    toolset, _ = tools_and_summary_of(installation.version)
    guarded: dict[str, str] = {}
    for tool in toolset.tools:
        guarded.update(tool.resources)
    guarded.update(installation.guarded_arguments or {})
    return guarded


def argument_names_of(installation: Installation) -> set[str]:
    """Every argument name of the installation's operations (what an admin may mark guarded)."""
    toolset, _ = tools_and_summary_of(installation.version)
    return {argument for tool in toolset.tools for argument in tool.bindings}
