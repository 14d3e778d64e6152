"""Repair stage: every `$ref` is classified before anything follows one (SECURITY.md pitfall 1).

Local refs that resolve stay as they are. A broken local ref is replaced by an empty schema, as
GPT Actions did, marked `x-unresolved-ref: <ref>` (UNRESOLVED_KEY) so the tool builder can
disable an operation whose input depends on it instead of offering "any value". Refs to files,
to other schemes, or to URLs off the plugin's root domain are errors and are removed from the
working copy. A remote ref on the root domain is inlined from
`PluginInput.bundled_refs` when the fetch stage bundled it; otherwise it is reported in
`ValidationReport.remote_refs` for the fetch stage and replaced by an empty schema.
"""

from __future__ import annotations

from typing import Any

from plugins.validation.context import Context
from plugins.validation.datatypes import Severity
from plugins.validation.refs import (
    UNRESOLVED_KEY,
    Dereferencer,
    RefKind,
    classify_ref,
    iter_refs,
    parse_pointer,
    resolve_pointer,
)
from plugins.validation.registry import CheckStage, Emit, register

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741

_MESSAGES = {
    RefKind.FILE: (
        "openapi.ref.external_file",
        "A $ref points at a file; only references inside the document are allowed.",
        "Inline the schema under #/components/schemas and reference it as '#/...'.",
    ),
    RefKind.UNSUPPORTED: (
        "openapi.ref.unsupported",
        "A $ref uses a scheme that is not supported; it was ignored.",
        "Reference schemas inside the document as '#/components/...'.",
    ),
    RefKind.REMOTE_OFF_DOMAIN: (
        "openapi.ref.off_domain",
        "A $ref points at a URL off the plugin's root domain; it is never fetched.",
        "Inline the schema, or serve it from the plugin's own domain.",
    ),
    RefKind.REMOTE_UNKNOWN_ROOT: (
        "openapi.ref.remote_unknown_origin",
        "A $ref points at a remote URL, and this plugin's domain is "
        "unknown, so it can't be checked or fetched.",
        "Inline the schema under #/components/schemas.",
    ),
}


def _replace(spec: dict, where: str, value: Any) -> dict:
    """`spec` with the node at `where` replaced by `value` (the root only by a mapping)."""
    if where == "":
        return value if isinstance(value, dict) else spec
    parent_pointer, last = where.rsplit("/", 1)
    parent = resolve_pointer(spec, parent_pointer)
    if isinstance(parent, list):
        parent[int(last)] = value
    else:
        parent[parse_pointer("/" + last)[0]] = value
    return spec


class _Bundles:
    """Bundled remote documents, parsed on first use (None when unreadable)."""

    def __init__(self, ctx: Context, emit: Emit) -> None:
        self.ctx = ctx
        self.emit = emit

    def __call__(self, url: str) -> Any:
        if url in self.ctx.bundles:
            return self.ctx.bundles[url]
        data = self.ctx.source.bundled_refs.get(url)
        doc = None
        if data is not None:
            from plugins.validation.parsing import SPEC_MAX_BYTES, DocumentError, parse_document

            try:
                doc = parse_document(data, max_bytes=SPEC_MAX_BYTES, expect_mapping=False)
            except DocumentError as exc:
                self.emit(
                    "openapi.ref.bundle_unreadable",
                    "",
                    f"The bundled document {url} can't be read: {exc.message}",
                )
        self.ctx.bundles[url] = doc
        return doc


@register(
    "openapi.refs",
    stage=CheckStage.REPAIR,
    codes={
        "openapi.ref.broken": W,
        "openapi.ref.external_file": E,
        "openapi.ref.unsupported": E,
        "openapi.ref.off_domain": E,
        "openapi.ref.remote_unknown_origin": E,
        "openapi.ref.remote_unbundled": W,
        "openapi.ref.bundled": I,
        "openapi.ref.bundle_unreadable": W,
    },
    order=40,
)
def repair_refs(ctx: Context, emit: Emit) -> None:
    """Classify every $ref; keep resolvable local ones, inline bundled ones, drop the rest."""
    spec = ctx.spec
    if spec is None:
        return
    load = _Bundles(ctx, emit)
    for where, node in list(iter_refs(spec)):
        ref = node["$ref"]
        target = classify_ref(ref, base_url=ctx.spec_url, root=ctx.root_domain)
        if target.kind in (RefKind.LOCAL, RefKind.LOCAL_OTHER):
            try:
                if target.kind is RefKind.LOCAL:
                    resolve_pointer(spec, target.fragment)
                    continue
            except LookupError:
                pass
            node[UNRESOLVED_KEY] = str(node.pop("$ref"))[:500]
            emit(
                "openapi.ref.broken",
                where + "/$ref",
                "A $ref points at nothing in this document; an empty schema (any value) is "
                "used in its place.",
                hint="Define the referenced schema or fix the pointer.",
            )
        elif target.kind is RefKind.REMOTE_SAME_ROOT and target.url:
            if target.url in ctx.source.bundled_refs and load(target.url) is not None:
                _inline_bundled(ctx, emit, where, node, load)
            else:
                node[UNRESOLVED_KEY] = str(node.pop("$ref"))[:500]
                ctx.remote_refs.add(target.url)
                emit(
                    "openapi.ref.remote_unbundled",
                    where + "/$ref",
                    f"A $ref points at {target.url} on the plugin's domain; it has not been "
                    "fetched yet, so an empty schema is used in its place.",
                    hint="The marketplace fetches same-domain references when it imports "
                    "the plugin; inlining them avoids the extra requests.",
                )
        else:
            code, message, hint = _MESSAGES[target.kind]
            del node["$ref"]
            emit(code, where + "/$ref", message, hint=hint)


def _inline_bundled(ctx: Context, emit: Emit, where: str, node: dict, load: _Bundles) -> None:
    deref = Dereferencer(
        ctx.spec, main_url=ctx.spec_url, root=ctx.root_domain, load=load, max_nodes=50_000
    )
    expanded = deref.expand(node)
    ctx.spec = _replace(ctx.spec, where, expanded)
    ctx.remote_refs.update(deref.missing_remote)
    emit(
        "openapi.ref.bundled",
        where + "/$ref",
        f"The remote $ref {node.get('$ref')} was inlined from the fetched copy.",
    )
    for ref, target in deref.problems:
        if target.url in deref.missing_remote:
            emit(
                "openapi.ref.remote_unbundled",
                where,
                f"The bundled schema refers to {target.url}, which has not been fetched yet.",
            )
        elif target.kind in _MESSAGES:
            code, message, hint = _MESSAGES[target.kind]
            emit(code, where, f"In a bundled schema: {message}", hint=hint)
        else:
            emit(
                "openapi.ref.broken",
                where,
                f"In a bundled schema, the $ref {ref[:200]} points at nothing.",
            )
