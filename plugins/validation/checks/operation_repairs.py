"""Repair stage: schema and operation fixes that strict clients need (LangChain, Semantic Kernel,
FastMCP reject these), each one a warning."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from plugins.validation.context import Context
from plugins.validation.datatypes import Severity
from plugins.validation.refs import escape_token
from plugins.validation.registry import CheckStage, Emit, register
from plugins.validation.walk import iter_operations

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@register(
    "openapi.required_in_properties",
    stage=CheckStage.REPAIR,
    codes={"openapi.schema.required_in_property": W},
    order=50,
)
def repair_required_in_properties(ctx: Context, emit: Emit) -> None:
    """`required: true` inside a property schema moves to the parent's `required` list."""
    if ctx.spec is None:
        return
    stack: list[tuple[str, object]] = [("", ctx.spec)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict):
                _lift_required(node, properties, where, emit)
            stack.extend((f"{where}/{escape_token(k)}", v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((f"{where}/{i}", v) for i, v in enumerate(node))


def _lift_required(schema: dict, properties: dict, where: str, emit: Emit) -> None:
    for name, prop in properties.items():
        if not isinstance(prop, dict) or not isinstance(prop.get("required"), bool):
            continue
        flag = prop.pop("required")
        if flag:
            required = schema.get("required")
            if not isinstance(required, list):
                required = schema["required"] = []
            if name not in required:
                required.append(name)
        emit(
            "openapi.schema.required_in_property",
            f"{where}/properties/{escape_token(name)}/required",
            f"`required: {str(flag).lower()}` inside the property schema '{name[:80]}' is not "
            "OpenAPI 3; it was moved to the object's `required` list.",
            hint="List required property names in the object schema's `required` array.",
        )


@register(
    "openapi.body_parameters",
    stage=CheckStage.REPAIR,
    codes={"openapi.parameter.in_body": W},
    order=60,
)
def repair_body_parameters(ctx: Context, emit: Emit) -> None:
    """A Swagger 2 `in: body` parameter becomes the operation's JSON request body."""
    if ctx.spec is None:
        return
    for _path, _method, operation, where in iter_operations(ctx.spec):
        params = operation.get("parameters")
        if not isinstance(params, list):
            continue
        for index, param in reversed(list(enumerate(params))):
            if not (isinstance(param, dict) and param.get("in") == "body"):
                continue
            params.pop(index)
            if "requestBody" not in operation:
                schema = param.get("schema") if isinstance(param.get("schema"), dict) else {}
                operation["requestBody"] = {
                    "required": bool(param.get("required")),
                    "content": {"application/json": {"schema": schema}},
                }
            emit(
                "openapi.parameter.in_body",
                f"{where}/parameters/{index}",
                "`in: body` is Swagger 2; the parameter was turned into the request body.",
                hint="Describe the body with `requestBody` in OpenAPI 3.",
            )


def sanitize_name(text: str) -> str:
    """A `^[A-Za-z0-9_-]{1,64}$` name from any text (stable: same text, same name)."""
    name = re.sub(r"_{2,}", "_", re.sub(r"[^A-Za-z0-9_-]+", "_", text)).strip("_") or "operation"
    if len(name) > 64:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        name = f"{name[:55]}_{digest}"
    return name


def _unique(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    for n in range(2, 100_000):
        suffix = f"_{n}"
        candidate = base[: 64 - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
    raise RuntimeError("no unique operation name")  # unreachable below MAX_OPERATIONS


@register(
    "openapi.operation_ids",
    stage=CheckStage.REPAIR,
    codes={
        "openapi.operation_id.missing": W,
        "openapi.operation_id.invalid": W,
        "openapi.operation_id.duplicate": W,
    },
    order=70,
)
def repair_operation_ids(ctx: Context, emit: Emit) -> None:
    """Every operation gets a unique `^[A-Za-z0-9_-]{1,64}$` name, kept where already valid."""
    if ctx.spec is None:
        return
    operations = list(iter_operations(ctx.spec))
    valid = Counter(
        op["operationId"]
        for *_, op, _w in operations
        if isinstance(op.get("operationId"), str) and NAME_RE.match(op["operationId"])
    )
    taken: set[str] = set(valid)
    kept: set[str] = set()
    for path, method, op, where in operations:
        original = op.get("operationId")
        if isinstance(original, str) and NAME_RE.match(original) and original not in kept:
            kept.add(original)
            ctx.operation_names[where] = original
            continue
        if isinstance(original, str) and NAME_RE.match(original):
            name = _unique(original, taken)
            emit(
                "openapi.operation_id.duplicate",
                f"{where}/operationId",
                f"operationId '{original}' is used more than once; this one was renamed '{name}'.",
                hint="Give every operation its own operationId.",
            )
        elif isinstance(original, str) and original.strip():
            name = _unique(sanitize_name(original), taken)
            emit(
                "openapi.operation_id.invalid",
                f"{where}/operationId",
                f"operationId '{original[:80]}' has characters outside [A-Za-z0-9_-] or more "
                f"than 64; tools will call it '{name}'.",
                hint="Use letters, digits, '_' and '-' only, at most 64 characters.",
            )
        else:
            name = _unique(sanitize_name(f"{method}_{path}"), taken)
            emit(
                "openapi.operation_id.missing",
                where,
                f"The operation has no operationId; it was named '{name}'.",
                hint="GPT Actions skip operations without an operationId.",
            )
        taken.add(name)
        op["operationId"] = name
        ctx.operation_names[where] = name
