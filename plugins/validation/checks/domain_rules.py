"""Validate stage: domain rules (docs §3). Skipped when the plugin's origin is unknown."""

from __future__ import annotations

from plugins.validation.context import OPENAI_MANIFEST, Context
from plugins.validation.datatypes import Severity
from plugins.validation.domains import (
    email_domain,
    host_of,
    on_root_domain,
    registrable_domain,
    same_registrable_domain,
)
from plugins.validation.registry import CheckStage, Emit, register

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741


@register("domains.api_url", stage=CheckStage.VALIDATE, codes={"manifest.api.url.off_domain": E})
def check_api_url_domain(ctx: Context, emit: Emit) -> None:
    """api.url is on the root domain or a subdomain of it (875/875 store plugins comply)."""
    plugin = ctx.plugin
    if plugin is None or ctx.root_domain is None or ctx.dialect != OPENAI_MANIFEST:
        return
    host = host_of(plugin.api_url)
    if host is not None and not on_root_domain(host, ctx.root_domain):
        emit(
            "manifest.api.url.off_domain",
            "/api/url",
            f"api.url is on {host}, not on the plugin's domain {ctx.root_domain} or a "
            "subdomain of it.",
            hint="Serve the OpenAPI document from the plugin's domain.",
            document="manifest",
        )


@register(
    "domains.sld",
    stage=CheckStage.VALIDATE,
    codes={"domains.contact_email.sld_mismatch": W, "domains.legal_info_url.sld_mismatch": W},
)
def check_contact_domains(ctx: Context, emit: Emit) -> None:
    """contact_email and legal_info_url should share the root domain's registrable domain."""
    plugin = ctx.plugin
    if plugin is None or ctx.root_domain is None:
        return
    document = "manifest" if ctx.dialect == OPENAI_MANIFEST else "openapi"
    prefix = "" if document == "manifest" else "/x-openplugin"
    root_sld = registrable_domain(ctx.root_domain)
    email_host = email_domain(plugin.contact_email)
    if email_host and not same_registrable_domain(email_host, ctx.root_domain):
        emit(
            "domains.contact_email.sld_mismatch",
            f"{prefix}/contact_email",
            f"contact_email is at {registrable_domain(email_host)}, not at the plugin's "
            f"domain {root_sld}.",
            document=document,
        )
    legal_host = host_of(plugin.legal_info_url)
    if legal_host and not same_registrable_domain(legal_host, ctx.root_domain):
        emit(
            "domains.legal_info_url.sld_mismatch",
            f"{prefix}/legal_info_url",
            f"legal_info_url is on {registrable_domain(legal_host)}, not on the plugin's "
            f"domain {root_sld}.",
            document=document,
        )
