"""Validate stage: OpenAPI style limits the store enforced (docs §4): warnings only."""

from __future__ import annotations

from plugins.validation.context import Context
from plugins.validation.datatypes import Severity
from plugins.validation.registry import CheckStage, Emit, register
from plugins.validation.walk import as_list, iter_operations

W = Severity.WARNING

OPERATION_TEXT_MAX = 300  # summary / description (documented 200; the store enforced 300)
PARAMETER_TEXT_MAX = 700  # parameter description (documented 200; the store enforced 700)


@register(
    "openapi.descriptions",
    stage=CheckStage.VALIDATE,
    codes={
        "openapi.operation.summary_too_long": W,
        "openapi.operation.description_too_long": W,
        "openapi.parameter.description_too_long": W,
    },
)
def check_descriptions(ctx: Context, emit: Emit) -> None:
    """Operation summaries/descriptions over 300 characters, parameter descriptions over 700."""
    if ctx.spec is None:
        return
    for _path, _method, op, where in iter_operations(ctx.spec):
        for key in ("summary", "description"):
            value = op.get(key)
            if isinstance(value, str) and len(value) > OPERATION_TEXT_MAX:
                emit(
                    f"openapi.operation.{key}_too_long",
                    f"{where}/{key}",
                    f"The operation's {key} has {len(value)} characters; the store allowed "
                    f"{OPERATION_TEXT_MAX}.",
                    hint="Shorten it; the model reads every word.",
                )
        for index, param in enumerate(as_list(op.get("parameters"))):
            value = param.get("description") if isinstance(param, dict) else None
            if isinstance(value, str) and len(value) > PARAMETER_TEXT_MAX:
                emit(
                    "openapi.parameter.description_too_long",
                    f"{where}/parameters/{index}/description",
                    f"The parameter's description has {len(value)} characters; the store "
                    f"allowed {PARAMETER_TEXT_MAX}.",
                )
