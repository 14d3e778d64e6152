"""Model stage: the normalised plugin is built from the repaired documents."""

from __future__ import annotations

from plugins.validation import normalize as nz
from plugins.validation.context import OPENAI_MANIFEST, Context
from plugins.validation.datatypes import NormalizedPlugin, Severity
from plugins.validation.domains import host_of, normalize_host, on_root_domain
from plugins.validation.refs import Dereferencer, resolve_pointer
from plugins.validation.registry import CheckStage, Emit, register
from plugins.validation.walk import iter_operations

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741


@register(
    "model.identity",
    stage=CheckStage.MODEL,
    codes={
        "openplugin.extension.wrong_type": E,
        "openplugin.name.missing": W,
        "openplugin.identity.missing": E,
    },
    order=10,
)
def build_identity(ctx: Context, emit: Emit) -> None:
    """Name, descriptions, contact, auth: from the manifest, or from x-openplugin/x-plugin-auth."""
    spec = ctx.spec
    if spec is None or (ctx.dialect == OPENAI_MANIFEST and ctx.manifest is None):
        return
    plugin = NormalizedPlugin(
        dialect=ctx.dialect or OPENAI_MANIFEST,
        root_domain=ctx.root_domain,
        openapi_version=ctx.openapi_version,
    )
    if ctx.dialect == OPENAI_MANIFEST:
        m = ctx.manifest or {}
        for key in (
            "name_for_model",
            "name_for_human",
            "description_for_model",
            "description_for_human",
            "logo_url",
            "contact_email",
            "legal_info_url",
            "schema_version",
        ):
            setattr(plugin, key, nz.text(m.get(key)))
        plugin.auth = nz.auth_from_block(m.get("auth"))
        base = ctx.source.manifest_url
        if base is None and ctx.root_domain:
            base = f"https://{normalize_host(ctx.source.origin)}/"
        plugin.api_url = nz.manifest_api_url(m, base)
    else:
        block = spec.get("x-openplugin", {})
        if not isinstance(block, dict):
            emit(
                "openplugin.extension.wrong_type",
                "/x-openplugin",
                "x-openplugin must be a mapping.",
            )
            block = {}
        data = nz.snake_keys(block)
        info = spec.get("info") if isinstance(spec.get("info"), dict) else {}
        name = nz.text(data.get("name")) or None
        if name is None and "x-openplugin" in spec:
            emit(
                "openplugin.name.missing",
                "/x-openplugin",
                "x-openplugin has no name; the document's info.title is used.",
            )
        name = name or nz.text(info.get("title"))
        if not name:
            emit(
                "openplugin.identity.missing",
                "",
                "The plugin has no name: neither x-openplugin.name nor info.title is set.",
            )
            return
        description = nz.text(data.get("description")) or nz.text(info.get("description"))
        plugin.name_for_human = name
        plugin.name_for_model = nz.model_name(name)
        plugin.description_for_model = plugin.description_for_human = description
        plugin.logo_url = nz.text(data.get("logo_url"))
        plugin.contact_email = nz.text(data.get("contact_email"))
        plugin.legal_info_url = nz.text(data.get("legal_info_url"))
        plugin.schema_version = nz.text(data.get("schema_version"))
        plugin.auth = nz.auth_from_block(spec.get("x-plugin-auth"))
        plugin.api_url = ctx.spec_url
        plugin.openplugin = data
    plugin.output_modules = nz.output_modules(spec.get("x-output-modules"))
    ctx.plugin = plugin


@register(
    "model.servers",
    stage=CheckStage.MODEL,
    codes={
        "openapi.servers.missing": W,
        "openapi.servers.off_domain": W,
        "openapi.servers.unresolved": W,
    },
    order=20,
)
def build_servers(ctx: Context, emit: Emit) -> None:
    """The base URL: the first server on the root domain, else the host serving the spec."""
    if ctx.plugin is None or ctx.spec is None:
        return
    servers = nz.server_urls(ctx.spec, ctx.spec_url)
    ctx.plugin.servers = [written for written, _ in servers]
    ctx.plugin.server_url = nz.choose_server(servers, ctx.root_domain, ctx.spec_url)
    fallback = ctx.plugin.server_url
    if not servers:
        emit(
            "openapi.servers.missing",
            "/servers",
            "The document has no `servers`; calls go to the host serving the spec"
            + (f" ({fallback})." if fallback else ", which is not known here."),
            hint="Add servers: [{url: https://api.example.com}].",
        )
    elif ctx.root_domain and not any(
        on_root_domain(host_of(a), ctx.root_domain) for _, a in servers
    ):
        emit(
            "openapi.servers.off_domain",
            "/servers",
            f"No server is on the plugin's domain ({ctx.root_domain}); calls go to the host "
            "serving the spec" + (f" ({fallback})." if fallback else "."),
            hint="List a server on the plugin's own domain first.",
        )
    if ctx.plugin.server_url is None and servers:
        emit(
            "openapi.servers.unresolved",
            "/servers",
            "The servers are relative and the spec's URL is unknown, so the base URL can't be "
            "resolved.",
        )


@register(
    "model.operations",
    stage=CheckStage.MODEL,
    codes={
        "openapi.parameter.invalid": W,
        "openapi.ref.budget_exceeded": W,
        "openapi.operations.none": E,
    },
    order=30,
)
def build_operations(ctx: Context, emit: Emit) -> None:
    """Operations with parameters, request bodies and responses dereferenced within a budget."""
    if ctx.plugin is None or ctx.spec is None:
        return
    deref = Dereferencer(ctx.spec, main_url=ctx.spec_url, root=ctx.root_domain)
    for path, method, op, where in iter_operations(ctx.spec):
        try:
            original = resolve_pointer(ctx.spec_raw, where).get("operationId")
        except (LookupError, AttributeError):
            original = None
        item = ctx.spec["paths"][path]
        operation, dropped = nz.build_operation(
            path=path,
            method=method,
            where=where,
            name=ctx.operation_names.get(where) or nz.model_name(f"{method}_{path}"),
            operation_id=original if isinstance(original, str) else None,
            op=op,
            path_params=item.get("parameters") or [],
            deref=deref,
        )
        for index in dropped:
            at = (
                f"{where}/parameters/{index}"
                if index >= 0
                else f"{where.rsplit('/', 1)[0]}/parameters/{-index - 1}"
            )
            emit(
                "openapi.parameter.invalid",
                at,
                "The parameter has no usable name or `in` (query, path, header, cookie); "
                "it is ignored.",
            )
        ctx.plugin.operations.append(operation)
    for reason in sorted(deref.truncated):
        emit(
            "openapi.ref.budget_exceeded",
            "",
            f"Inlining $refs exceeded the {reason} budget; the deepest or latest schemas were "
            "cut short in the plugin's model (the document itself is kept).",
            hint="Very deep or exponentially nested schemas can't be shown to the model.",
        )
    if not ctx.plugin.operations:
        emit(
            "openapi.operations.none",
            "/paths",
            "The document defines no operation (a method under a path), so the plugin can't "
            "do anything.",
        )
