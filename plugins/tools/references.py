"""x-dependent and x-lookup: which referenced operations the marketplace runs by itself. Pure.

OpenPlugin lets a parameter name the operation that yields its value (`x-dependent: {path,
method}`) and a response field the operation that makes it readable (`x-lookup: {path, method,
parameter: "$request.query.<name>"}`). The marketplace resolves them only when the referenced
operation *needs no model input*: each of its required parameters has a value the marketplace
knows (an `x-bootstrap-value` template, rendered with the member's credential, or a schema
`default`), a credential header doesn't count, and it takes no required request body. One level
deep: a referenced operation's own x-dependent parameters are never followed.

The value of an x-dependent parameter is read from the referenced operation's JSON answer:
`field` (an extension of ours: a JSON pointer such as `/city/id`, or a top-level name) when the
publisher gives one; otherwise the answer itself when it is a plain value, else its property
named like the parameter, else its `id`. A one-item list is looked into.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

LOOKUP_EXPRESSION = re.compile(r"^\$request\.(query|path|header|cookie)\.([^\s]+)$")
MISSING = object()
SCALARS = (str, int, float, bool)


def operation_at(plugin: dict, block: Any) -> dict | None:
    """The normalised operation a `{path, method}` block names, or None."""
    if not isinstance(block, dict):
        return None
    method, path = block.get("method"), block.get("path")
    if not isinstance(method, str) or not isinstance(path, str):
        return None
    return next(
        (
            op
            for op in plugin.get("operations") or []
            if op.get("method") == method.lower() and op.get("path") == path
        ),
        None,
    )


def preset_values(op: dict) -> dict[tuple[str, str], tuple[str, Any]]:
    """(location, name) → ("template", x-bootstrap-value) or ("default", schema default) for
    each parameter the marketplace can fill without the model."""
    templates = op.get("bootstrap_values") or {}
    found: dict[tuple[str, str], tuple[str, Any]] = {}
    for param in op.get("parameters") or []:
        key = (param.get("in"), param.get("name"))
        schema = param.get("schema")
        if param.get("name") in templates:
            found[key] = ("template", templates[param["name"]])
        elif isinstance(schema, dict) and "default" in schema:
            found[key] = ("default", schema["default"])
    return found


def missing_input(
    op: dict,
    *,
    set_by_marketplace: Callable[[dict], bool] = lambda param: False,
    provided: tuple[str, str] | None = None,
) -> str | None:
    """What the model would have to supply to call `op` (a parameter's name, or "the request
    body"), or None when the marketplace can call it alone. `provided` is a (location, name)
    the caller fills itself (x-lookup's parameter)."""
    presets = preset_values(op)
    for param in op.get("parameters") or []:
        key = (param.get("in"), param.get("name"))
        if not param.get("required") or key == provided or set_by_marketplace(param):
            continue
        if key not in presets:
            return str(param.get("name"))
    body = op.get("request_body")
    if isinstance(body, dict) and body.get("required"):
        schema = body.get("schema")
        if not (isinstance(schema, dict) and "default" in schema):
            return "the request body"
    return None


def lookup_parameter(expression: Any) -> tuple[str, str] | None:
    """`$request.query.id` → ("query", "id"); None for anything else."""
    found = LOOKUP_EXPRESSION.match(expression) if isinstance(expression, str) else None
    return (found.group(1), found.group(2)) if found else None


def dependent_value(data: Any, *, field: str | None, parameter: str) -> Any:
    """The value for `parameter` in a referenced operation's answer, or MISSING."""
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if field:
        if field.startswith("/"):
            found = pointer_value(data, field)
        else:
            found = data.get(field, MISSING) if isinstance(data, dict) else MISSING
    elif isinstance(data, SCALARS):
        found = data
    elif isinstance(data, dict):
        found = data.get(parameter, data.get("id", MISSING))
    else:
        found = MISSING
    return found if isinstance(found, SCALARS) else MISSING


def pointer_value(data: Any, pointer: str) -> Any:
    """The value at a JSON pointer (RFC 6901) in `data`, or MISSING."""
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(data, dict) and token in data:
            data = data[token]
        elif isinstance(data, list) and token.isdigit() and int(token) < len(data):
            data = data[int(token)]
        else:
            return MISSING
    return data


_COMBINATORS = frozenset({"allOf", "anyOf", "oneOf"})


def values_at_schema_pointer(data: Any, pointer: str | None, *, name: str) -> list:
    """The plain values in `data` at the place a response schema pointer describes
    (`/properties/a/items/properties/b` → every `b` of every item of `a`), distinct, in order.
    With no pointer (x-lookup on the response itself) the answer's property `name`."""
    nodes = [data]
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in (pointer or "").split("/")[1:]]
    index = 0
    while index < len(tokens) and nodes:
        token = tokens[index]
        if token == "properties" and index + 1 < len(tokens):
            key = tokens[index + 1]
            nodes = [n[key] for n in nodes if isinstance(n, dict) and key in n]
            index += 2
        elif token == "items":
            nodes = [item for n in nodes if isinstance(n, list) for item in n]
            index += 1
        elif token == "additionalProperties":
            nodes = [v for n in nodes if isinstance(n, dict) for v in n.values()]
            index += 1
        elif token in _COMBINATORS:  # "/allOf/0": the same value, another view of it
            index += 2
        else:
            return []
    if pointer is None:
        nodes = [n.get(name) for n in nodes if isinstance(n, dict)]
    found: list = []
    for node in nodes:
        if isinstance(node, SCALARS) and not isinstance(node, bool) and node not in found:
            found.append(node)
    return found
