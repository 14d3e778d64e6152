"""Strict variants, derived from the portable schema (never the canonical form).

Each function returns `(schema, None)` when a strict variant exists, or `(None, reason)` saying
why it doesn't, so the lookup API can tell a client why a tool is not strict.
"""

from __future__ import annotations

import copy
from typing import Any

OPENAI_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
OPENAI_MAX_DEPTH = 10
OPENAI_MAX_PROPERTIES = 5000
OPENAI_MAX_ENUM = 1000
ANTHROPIC_MAX_OPTIONAL = 24
ANTHROPIC_MAX_UNIONS = 16
_ANTHROPIC_DROPPED = ("minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength")


class NotStrict(Exception):
    pass


def variants(parameters: dict) -> dict:
    """A tool's strict fields for `parameters` (Tool's keyword arguments)."""
    openai_schema, openai_reason = openai_strict(parameters)
    anthropic_schema, anthropic_reason, counts = anthropic_strict(parameters)
    return {
        "openai_strict": openai_schema,
        "openai_strict_reason": openai_reason,
        "anthropic_strict": anthropic_schema,
        "anthropic_strict_reason": anthropic_reason,
        "anthropic_counts": counts,
    }


def openai_strict(schema: dict) -> tuple[dict | None, str | None]:
    """OpenAI `strict: true`: closed objects, every property required (optional → nullable)."""
    counter = {"properties": 0}
    try:
        result = _openai(copy.deepcopy(schema), "", 1, counter)
    except NotStrict as exc:
        return None, str(exc)
    if counter["properties"] > OPENAI_MAX_PROPERTIES:
        return None, f"more than {OPENAI_MAX_PROPERTIES} properties"
    return result, None


def _openai(node: dict, where: str, depth: int, counter: dict) -> dict:
    if depth > OPENAI_MAX_DEPTH:
        raise NotStrict(f"nested deeper than {OPENAI_MAX_DEPTH} levels at {where or '/'}")
    if _is_any(node):
        raise NotStrict(f"a value of any type at {where or '/'}")
    fmt = node.get("format")
    if fmt is not None and fmt not in OPENAI_FORMATS:
        node.pop("format")
        node["description"] = " ".join(filter(None, [node.get("description"), f"Format: {fmt}."]))
    if isinstance(node.get("enum"), list) and len(node["enum"]) > OPENAI_MAX_ENUM:
        raise NotStrict(f"an enum with more than {OPENAI_MAX_ENUM} values at {where}")
    node.pop("default", None)
    if "anyOf" in node:
        node["anyOf"] = [
            _openai(sub, f"{where}/anyOf/{i}", depth + 1, counter)
            for i, sub in enumerate(node["anyOf"])
        ]
    if _is_object(node):
        props = node.get("properties") or {}
        extra = node.get("additionalProperties")
        if (not props and where) or extra not in (None, False):
            raise NotStrict(f"a free-form object (a map) at {where or '/'}")
        required = set(node.get("required") or [])
        counter["properties"] += len(props)
        new_props = {}
        for name, sub in props.items():
            sub = _openai(sub, f"{where}/properties/{name}", depth + 1, counter)
            if name not in required:
                sub = _nullable(sub)
            new_props[name] = sub
        node["properties"] = new_props
        node["required"] = list(new_props)
        node["additionalProperties"] = False
    if _is_array(node) and isinstance(node.get("items"), dict):
        node["items"] = _openai(node["items"], f"{where}/items", depth + 1, counter)
    return node


def _nullable(node: dict) -> dict:
    kind = node.get("type")
    if isinstance(kind, str):
        node["type"] = [kind, "null"]
    elif isinstance(kind, list):
        if "null" not in kind:
            node["type"] = [*kind, "null"]
    elif "anyOf" in node:
        if {"type": "null"} not in node["anyOf"]:
            node["anyOf"] = [*node["anyOf"], {"type": "null"}]
    else:
        return {"anyOf": [node, {"type": "null"}]}
    if isinstance(node.get("enum"), list) and None not in node["enum"]:
        node["enum"] = [*node["enum"], None]
    return node


def anthropic_strict(schema: dict) -> tuple[dict | None, str | None, dict]:
    """Anthropic `strict: true`: closed objects, no recursion, no numeric or length constraints.

    Returns (schema or None, reason or None, {"optional": n, "unions": n}): the per-request
    budgets (24 optional and 16 union-typed parameters over all strict tools) are applied when a
    request's tools are rendered.
    """
    counts = {"optional": 0, "unions": 0}
    try:
        result = _anthropic(copy.deepcopy(schema), "", counts)
    except NotStrict as exc:
        return None, str(exc), counts
    if counts["optional"] > ANTHROPIC_MAX_OPTIONAL:
        return None, f"more than {ANTHROPIC_MAX_OPTIONAL} optional parameters", counts
    if counts["unions"] > ANTHROPIC_MAX_UNIONS:
        return None, f"more than {ANTHROPIC_MAX_UNIONS} union-typed parameters", counts
    return result, None, counts


def _anthropic(node: dict, where: str, counts: dict) -> dict:
    recursive = "recursive" in str(node.get("description", ""))
    if recursive and node.get("type") == "object" and not node.get("properties"):
        raise NotStrict(f"a recursive structure at {where or '/'}")
    if _is_any(node):
        raise NotStrict(f"a value of any type at {where or '/'}")
    for key in _ANTHROPIC_DROPPED:
        node.pop(key, None)
    if isinstance(node.get("type"), list) or "anyOf" in node:
        counts["unions"] += 1
    if "anyOf" in node:
        node["anyOf"] = [
            _anthropic(sub, f"{where}/anyOf/{i}", counts) for i, sub in enumerate(node["anyOf"])
        ]
    if _is_object(node):
        props = node.get("properties") or {}
        extra = node.get("additionalProperties")
        if (not props and where) or extra not in (None, False):
            raise NotStrict(f"a free-form object (a map) at {where or '/'}")
        required = set(node.get("required") or [])
        counts["optional"] += len([name for name in props if name not in required])
        node["properties"] = {
            name: _anthropic(sub, f"{where}/properties/{name}", counts)
            for name, sub in props.items()
        }
        node["additionalProperties"] = False
    if _is_array(node) and isinstance(node.get("items"), dict):
        node["items"] = _anthropic(node["items"], f"{where}/items", counts)
    return node


def _is_any(node: dict) -> bool:
    return not any(key in node for key in ("type", "anyOf", "enum", "const"))


def _is_object(node: Any) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind)


def _is_array(node: Any) -> bool:
    kind = node.get("type")
    return kind == "array" or (isinstance(kind, list) and "array" in kind)
