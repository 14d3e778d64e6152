"""Parse stage: bytes to documents, which dialect this is, and the plugin's root domain."""

from __future__ import annotations

from plugins.validation.context import OPENAI_MANIFEST, OPENPLUGIN, Context
from plugins.validation.datatypes import Severity
from plugins.validation.domains import normalize_host, resolve_url, root_domain
from plugins.validation.registry import CheckStage, Emit, register

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741


def _parse(data: bytes, *, manifest: bool, content_type: str | None, emit: Emit):
    from plugins.validation.parsing import (
        MANIFEST_MAX_BYTES,
        SPEC_MAX_BYTES,
        DocumentError,
        parse_document,
    )

    document = "manifest" if manifest else "openapi"
    try:
        return parse_document(
            data,
            max_bytes=MANIFEST_MAX_BYTES if manifest else SPEC_MAX_BYTES,
            content_type=content_type,
            expect_mapping=True,
        )
    except DocumentError as exc:
        code = exc.code if exc.code.startswith("document.") else f"document.{exc.code}"
        arrived = f" (it arrived as {content_type})" if content_type else ""
        emit(
            code,
            "",
            f"The {document} can't be read: {exc.message}{arrived}",
            hint=getattr(exc, "hint", "") or "",
            document=document,
        )
        return None


@register(
    "documents.parse",
    stage=CheckStage.PARSE,
    codes={"document.*": E, "plugin.no_documents": E, "openapi.missing": E},
    order=10,
)
def parse_documents(ctx: Context, emit: Emit) -> None:
    """Parse the manifest and the OpenAPI document (sizes, encodings, HTML, YAML bombs)."""
    src = ctx.source
    if src.manifest is None and src.openapi is None:
        emit(
            "plugin.no_documents",
            "",
            "Neither a manifest nor an OpenAPI document was given.",
            document="plugin",
        )
        ctx.halted = True
        return
    if src.manifest is not None:
        ctx.manifest_given = True
        ctx.manifest = _parse(
            src.manifest, manifest=True, content_type=src.manifest_content_type, emit=emit
        )
    if src.openapi is not None:
        ctx.spec_raw = _parse(
            src.openapi, manifest=False, content_type=src.openapi_content_type, emit=emit
        )
    elif ctx.manifest_given:
        emit(
            "openapi.missing",
            "",
            "The plugin's OpenAPI document is missing.",
            hint="The manifest's api.url must serve the OpenAPI document.",
        )


def _manifest_api_url(ctx: Context) -> str | None:
    api = (ctx.manifest or {}).get("api")
    url = api.get("url") if isinstance(api, dict) else None
    if not isinstance(url, str) or not url.strip():
        return None
    base = ctx.source.manifest_url
    if base is None and ctx.root_domain is not None:
        base = f"https://{normalize_host(ctx.source.origin)}/"
    return resolve_url(base, url.strip())


@register(
    "documents.dialect",
    stage=CheckStage.PARSE,
    codes={"plugin.origin_unknown": I, "openplugin.extension.missing": W},
    order=20,
)
def detect_dialect(ctx: Context, emit: Emit) -> None:
    """Which dialect, the root domain (origin, else the manifest's URL), and the spec's URL."""
    spec = ctx.spec_raw if isinstance(ctx.spec_raw, dict) else {}
    if ctx.manifest_given:
        ctx.dialect = OPENAI_MANIFEST
    else:
        ctx.dialect = OPENPLUGIN
        if spec and "x-openplugin" not in spec:
            emit(
                "openplugin.extension.missing",
                "",
                "The OpenAPI document has no x-openplugin block and there is no manifest; "
                "the plugin's name and description are taken from `info`.",
                hint="Add an x-openplugin block, or upload the ai-plugin.json manifest too.",
            )
    src = ctx.source
    host = normalize_host(src.origin) or normalize_host(src.manifest_url)
    if host is None and ctx.dialect == OPENPLUGIN:
        host = normalize_host(src.openapi_url)
    ctx.root_domain = root_domain(host)
    if ctx.root_domain is None:
        emit(
            "plugin.origin_unknown",
            "",
            "Where this plugin is served from is unknown, so the domain rules (api.url, servers, "
            "remote $refs, contact and legal domains) were not applied.",
            document="plugin",
        )
    ctx.spec_url = resolve_url(None, src.openapi_url or "") or _manifest_api_url(ctx)
