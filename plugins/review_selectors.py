"""Reads for the operators' review screen: what a reviewer must see before deciding.

`review_case(plugin=…)` gathers the candidate (or, with nothing submitted, the published
version), its validation findings, previews of its documents with secrets masked, the diff
against the published version, and the warnings a reviewer must look at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db.models import Q

from plugins.models import Plugin, PluginVersion, ReviewState
from plugins.selectors import findings_by_severity, latest_run
from plugins.validation import diff_versions

WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
PREVIEW_LIMIT = 40_000  # characters of a document shown on the page
MASK = "•••••• (hidden)"
# Manifest keys whose values are credentials of the plugin, never shown to anyone.
_SECRET_KEYS = frozenset({"verification_tokens", "client_secret", "token", "api_key", "password"})


@dataclass(frozen=True)
class ReviewWarning:
    code: str
    title: str
    detail: str
    severity: str = "warning"  # "warning" | "error": error = look twice before approving


@dataclass
class ReviewCase:
    plugin: Plugin
    version: PluginVersion | None
    published: PluginVersion | None
    run: object | None
    findings: dict
    diff: dict | None
    warnings: list[ReviewWarning] = field(default_factory=list)
    manifest_preview: str = ""
    spec_preview: str = ""
    operations: list[dict] = field(default_factory=list)

    @property
    def is_update(self) -> bool:
        return self.published is not None and self.version is not None


def review_case(*, plugin: Plugin) -> ReviewCase:
    published = plugin.published_version
    version = plugin.candidate_version or published
    run = latest_run(version=version) if version else None
    normalized = (version.normalized if version else None) or {}
    diff = None
    if published is not None and version is not None and version.pk != published.pk:
        diff = diff_versions(published.normalized or {}, normalized)
    return ReviewCase(
        plugin=plugin,
        version=version,
        published=published if published and version and published.pk != version.pk else None,
        run=run,
        findings=findings_by_severity(run=run) if run else {},
        diff=diff,
        warnings=reviewer_warnings(plugin=plugin, version=version, published=published),
        manifest_preview=_manifest_preview(version),
        spec_preview=_text_preview(version.raw_openapi if version else None),
        operations=normalized.get("operations") or [],
    )


def reviewer_warnings(
    *, plugin: Plugin, version: PluginVersion | None, published: PluginVersion | None
) -> list[ReviewWarning]:
    warnings: list[ReviewWarning] = []
    normalized = (version.normalized if version else None) or {}
    warnings += _lookalikes(plugin, normalized)
    writes = [
        f"{op.get('method', '').upper()} {op.get('path', '')}"
        for op in normalized.get("operations") or []
        if (op.get("method") or "").lower() in WRITE_METHODS
    ]
    auth_type = (normalized.get("auth") or {}).get("type") or "none"
    if writes:
        warnings.append(
            ReviewWarning(
                "write_operations",
                f"{len(writes)} operation{'s' if len(writes) != 1 else ''} can change data",
                ", ".join(writes[:8]) + (" …" if len(writes) > 8 else ""),
            )
        )
        if auth_type == "none":
            warnings.append(
                ReviewWarning(
                    "writes_without_auth",
                    "Writes with no authentication",
                    "Anyone's assistant could change data on this service: it asks for no "
                    "credential at all.",
                    severity="error",
                )
            )
    if published is not None and version is not None and published.pk != version.pk:
        changed = _model_facing_changes(published.normalized or {}, normalized)
        if changed:
            warnings.append(
                ReviewWarning(
                    "model_text_changed",
                    "Text the model reads has changed",
                    "; ".join(changed[:10]) + (" …" if len(changed) > 10 else ""),
                )
            )
    return warnings


def _lookalikes(plugin: Plugin, normalized: dict) -> list[ReviewWarning]:
    origin = plugin.origin
    name = normalized.get("name_for_model") or plugin.name_for_model
    clauses = Q()
    if origin:
        clauses |= Q(origin__iexact=origin)
    if name:
        clauses |= Q(name_for_model__iexact=name)
    if not clauses:
        return []
    others = (
        Plugin.objects.filter(clauses, review_state=ReviewState.APPROVED)
        .exclude(organization_id=plugin.organization_id)
        .select_related("organization")
        .only("name", "origin", "name_for_model", "organization__name")[:10]
    )
    warnings = []
    for other in others:
        same = []
        if origin and other.origin.lower() == origin.lower():
            same.append(f"origin {origin}")
        if name and other.name_for_model.lower() == name.lower():
            same.append(f"name_for_model {name}")
        warnings.append(
            ReviewWarning(
                "lookalike",
                f"{other.organization.name} already lists the same {' and '.join(same)}",
                f"Their plugin: “{other.name}”. Is this publisher allowed to use it?",
                severity="error",
            )
        )
    return warnings


def _model_facing_changes(before: dict, after: dict) -> list[str]:
    changes = []
    for key in ("name_for_model", "description_for_model"):
        if (before.get(key) or "") != (after.get(key) or ""):
            changes.append(key)
    old_ops = {op.get("name"): op for op in before.get("operations") or []}
    for op in after.get("operations") or []:
        old = old_ops.get(op.get("name"))
        if old is None:
            continue
        for key in ("summary", "description"):
            if (old.get(key) or "") != (op.get(key) or ""):
                changes.append(f"{op.get('name')}: {key}")
        old_params = {p.get("name"): p for p in old.get("parameters") or []}
        for param in op.get("parameters") or []:
            previous = old_params.get(param.get("name"))
            if previous and (previous.get("description") or "") != (param.get("description") or ""):
                changes.append(f"{op.get('name')}: parameter {param.get('name')}")
    return changes


def _mask(value):
    if isinstance(value, dict):
        return {k: (MASK if k in _SECRET_KEYS and v else _mask(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def _manifest_preview(version: PluginVersion | None) -> str:
    if version is None or not version.raw_manifest:
        return ""
    raw = bytes(version.raw_manifest)
    try:
        document = json.loads(raw)
    except ValueError:
        # Not JSON (the run failed on it): show no text that could hold an unmasked token.
        return "(the manifest is not valid JSON; see the findings)"
    return _cap(json.dumps(_mask(document), indent=2, ensure_ascii=False))


def _text_preview(raw) -> str:
    if not raw:
        return ""
    return _cap(bytes(raw).decode("utf-8", errors="replace"))


def _cap(text: str) -> str:
    if len(text) <= PREVIEW_LIMIT:
        return text
    return text[:PREVIEW_LIMIT] + f"\n… ({len(text) - PREVIEW_LIMIT:,} more characters)"
