"""Strict stage: what openapi-spec-validator still finds after the repairs (warnings: 252 of
786 approved store specs fail it)."""

from __future__ import annotations

from plugins.validation.context import Context
from plugins.validation.datatypes import Severity
from plugins.validation.registry import CheckStage, Emit, register
from plugins.validation.spec_validator import MAX_COUNTED, MAX_REPORTED, validate_strict

W, I = Severity.WARNING, Severity.INFO  # noqa: E741


@register(
    "openapi.strict",
    stage=CheckStage.STRICT,
    codes={"openapi.strict.invalid": W, "openapi.strict.more": I, "openapi.strict.aborted": W},
)
def check_strict(ctx: Context, emit: Emit) -> None:
    """Run openapi-spec-validator (offline) over the repaired document."""
    if ctx.spec is None or ctx.openapi_version is None:
        return
    result = validate_strict(ctx.spec, ctx.openapi_version)
    for error in result.errors:
        emit(
            "openapi.strict.invalid",
            error.pointer,
            f"Not valid OpenAPI {ctx.openapi_version}: {error.message}",
            hint="Strict clients (LangChain, Semantic Kernel, FastMCP) may reject the document.",
        )
    if result.total > MAX_REPORTED:
        more = f"{result.total - MAX_REPORTED}" + ("+" if result.total >= MAX_COUNTED else "")
        emit("openapi.strict.more", "", f"{more} more strict-validation failure(s) not listed.")
    if result.aborted:
        emit("openapi.strict.aborted", "", f"Strict validation stopped early: {result.aborted}.")
