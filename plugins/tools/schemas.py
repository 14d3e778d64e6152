"""Schema conversions: OpenAPI schemas to JSON Schema, and JSON Schema to the portable subset.

Input schemas come from the validated version with every `$ref` already inlined; a cycle is a
`{"$recursive": ref}` marker, a schema cut by the budget is `{"$truncated": why}` and a `$ref`
that could not be followed is `{"x-unresolved-ref": ref}` (`unusable` names the last two: an
operation whose input holds one is disabled, not offered with "any value" in its place).

- `json_schema(schema, openapi_30=...)` is the *checking* form: everything the publisher wrote,
  as JSON Schema 2020-12 (3.0 `nullable` → type arrays, boolean `exclusiveMinimum` → numeric,
  readOnly properties dropped from inputs, recursion markers → any value). The proxy validates
  arguments with it.
- `portable(schema)` is what a model sees: the keyword set every vendor accepts (TOOLS.md), with
  `allOf` merged, `oneOf` → `anyOf`, and every other keyword moved into the description.
"""

from __future__ import annotations

import copy
from typing import Any

MARKER_RECURSIVE = "$recursive"
MARKER_TRUNCATED = "$truncated"
MARKER_UNRESOLVED = "x-unresolved-ref"

PORTABLE_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "description",
        "format",
        "pattern",
        "minimum",
        "maximum",
        "minItems",
        "maxItems",
        "default",
    }
)
# Keywords that say nothing a model needs (or are OpenAPI-only) and are dropped silently.
_SILENT = frozenset(
    {
        "title",
        "example",
        "examples",
        "xml",
        "externalDocs",
        "discriminator",
        "deprecated",
        "readOnly",
        "writeOnly",
        "nullable",
        "$schema",
        "$id",
        "$comment",
        "contentMediaType",
        "contentEncoding",
    }
)
PORTABLE_ENUM_MAX = 500
DESCRIPTION_MAX = 1024
_MAX_DEPTH = 40
_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")


def unusable(schema: Any, depth: int = 0) -> str | None:
    """Why the schema can't be shown or checked (a `$ref` that points at nothing, a cut by the
    dereferencing budget), or None."""
    if depth > _MAX_DEPTH:
        return "it is nested too deeply"
    if isinstance(schema, dict):
        if isinstance(schema.get(MARKER_UNRESOLVED), str):
            return f"its $ref {clip(schema[MARKER_UNRESOLVED], 200)} points at nothing"
        if MARKER_TRUNCATED in schema:
            return "it is too large or too deeply nested to inline"
        values: Any = schema.values()
    elif isinstance(schema, list):
        values = schema
    else:
        return None
    for value in values:
        found = unusable(value, depth + 1)
        if found:
            return found
    return None


# -- the checking form ------------------------------------------------------------------------


def json_schema(schema: Any, *, openapi_30: bool) -> dict:
    """The JSON Schema 2020-12 form of an (inlined) OpenAPI schema, for checking arguments."""
    return _to_json(schema, openapi_30, 0)


def _to_json(schema: Any, openapi_30: bool, depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return {} if not isinstance(schema, bool) else schema
    if MARKER_RECURSIVE in schema or MARKER_TRUNCATED in schema:
        return {}
    out: dict = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "$defs", "definitions"):
            if isinstance(value, dict):
                out[key] = {
                    str(name): _to_json(sub, openapi_30, depth + 1)
                    for name, sub in value.items()
                    if not (key == "properties" and _is_read_only(sub))
                }
        elif key in ("items", "additionalProperties", "not", "contains", "propertyNames"):
            out[key] = value if isinstance(value, bool) else _to_json(value, openapi_30, depth + 1)
        elif key in ("allOf", "anyOf", "oneOf", "prefixItems"):
            if isinstance(value, list):
                out[key] = [_to_json(sub, openapi_30, depth + 1) for sub in value]
        elif key in ("example", "discriminator", "xml", "externalDocs", "nullable"):
            continue
        else:
            out[key] = copy.deepcopy(value)
    if isinstance(out.get("required"), list) and isinstance(schema.get("properties"), dict):
        read_only = {n for n, s in schema["properties"].items() if _is_read_only(s)}
        out["required"] = [n for n in out["required"] if n not in read_only]
        if not out["required"]:
            del out["required"]
    if openapi_30:
        _fix_exclusive_bounds(out)
        if schema.get("nullable") is True:
            _add_null(out)
    return out


def _is_read_only(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("readOnly") is True


def _fix_exclusive_bounds(out: dict) -> None:
    for flag, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(flag), bool):
            if out[flag] and bound in out:
                out[flag] = out.pop(bound)
            else:
                del out[flag]


def _add_null(out: dict) -> None:
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        out["type"] = [*kind, "null"]
    elif kind is None and any(k in out for k in ("anyOf", "oneOf")):
        key = "anyOf" if "anyOf" in out else "oneOf"
        out[key] = [*out[key], {"type": "null"}]
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]


# -- the portable form ------------------------------------------------------------------------


def portable(schema: Any, *, source: Any = None) -> dict:
    """The portable subset of a checking-form schema (see the module docstring).

    `source` is the original OpenAPI schema, used only to say where recursion was cut.
    """
    return _to_portable(schema, 0, source)


def _to_portable(schema: Any, depth: int, source: Any) -> dict:
    if isinstance(source, dict) and MARKER_RECURSIVE in source:
        return {"type": "object", "description": "A nested value of the same shape (recursive)."}
    if schema is True or not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return {}
    schema = _merge_all_of(schema)
    out: dict = {}
    notes: list[str] = []
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            src_props = source.get("properties") if isinstance(source, dict) else None
            out["properties"] = {
                name: _to_portable(
                    sub, depth + 1, src_props.get(name) if isinstance(src_props, dict) else None
                )
                for name, sub in value.items()
            }
        elif key == "items":
            src_items = source.get("items") if isinstance(source, dict) else None
            out["items"] = _to_portable(value, depth + 1, src_items)
        elif key == "additionalProperties":
            out[key] = value if isinstance(value, bool) else _to_portable(value, depth + 1, None)
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            converted = [_to_portable(v, depth + 1, None) for v in value]
            out["anyOf"] = [*out.get("anyOf", []), *converted]
        elif key == "enum" and isinstance(value, list):
            if len(value) > PORTABLE_ENUM_MAX:
                shown = ", ".join(map(str, value[:20]))
                notes.append(f"One of {len(value)} values, e.g. {shown}")
            else:
                out["enum"] = list(value)
        elif key == "type":
            kinds = value if isinstance(value, list) else [value]
            kinds = [k for k in kinds if k in _TYPES]
            if kinds:
                out["type"] = kinds[0] if len(kinds) == 1 else kinds
        elif key == "required" and isinstance(value, list):
            out["required"] = [str(v) for v in value if isinstance(v, str)]
        elif key in PORTABLE_KEYWORDS:
            out[key] = copy.deepcopy(value)
        elif key in _SILENT or key.startswith("x-"):
            continue
        elif not isinstance(value, dict | list):
            notes.append(f"{key}: {value}")
    if "required" in out and "properties" in out:
        out["required"] = [r for r in out["required"] if r in out["properties"]]
        if not out["required"]:
            del out["required"]
    if notes:
        out["description"] = clip(" ".join(filter(None, [out.get("description"), *notes])))
    elif isinstance(out.get("description"), str):
        out["description"] = clip(out["description"])
    return out


def _merge_all_of(schema: dict) -> dict:
    """Fold `allOf` members into the schema: properties and required united, first type wins."""
    parts = schema.get("allOf")
    if not isinstance(parts, list):
        return schema
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    for part in parts:
        part = _merge_all_of(part) if isinstance(part, dict) else {}
        for key, value in part.items():
            if key == "properties" and isinstance(value, dict):
                merged["properties"] = {**value, **merged.get("properties", {})}
            elif key == "required" and isinstance(value, list):
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
            elif key == "description" and "description" in merged:
                continue
            else:
                merged.setdefault(key, value)
    if "properties" in merged and "type" not in merged:
        merged["type"] = "object"
    return merged


def clip(text: str, limit: int = DESCRIPTION_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def is_object_schema(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    return kind == "object" or (kind is None and isinstance(schema.get("properties"), dict))
