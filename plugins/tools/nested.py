"""Property names inside an argument's schema (objects in the body, arrays of them…) that a
vendor refuses, renamed, and the map back.

Anthropic (and Bedrock) accept property keys `^[a-zA-Z0-9_.-]{1,64}$` at every depth (TOOLS.md);
top-level arguments are already renamed by `names.argument_name`. Here, every `properties` key
below an argument that breaks that pattern gets a valid name, unique among its siblings, and
the `Renames` tree records it, so the proxy turns the model's value back into the real one
(`to_real`) and the passthrough turns a client's real value into the model's form (`to_shown`).

A tree is `{"properties": {shown: [real, subtree | None]}, "items": subtree | None, "values":
subtree | None}` (`values`: of a map's `additionalProperties`); None where nothing below is
renamed. Composition members (`allOf`, `anyOf`, `oneOf`) share the node:
a value is one object whatever branch it matches.
"""

from __future__ import annotations

import re
from typing import Any

from plugins.tools.names import argument_name

PROPERTY_NAME = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")
_COMPOSITIONS = ("allOf", "anyOf", "oneOf")
_MAX_DEPTH = 40


def rename_properties(schema: Any) -> tuple[Any, dict | None]:
    """(the schema with invalid nested property names replaced, the tree of renames or None)."""
    return _rename(schema, 0)


def _rename(schema: Any, depth: int) -> tuple[Any, dict | None]:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return schema, None
    out = dict(schema)
    tree: dict = _empty()
    props = schema.get("properties")
    if isinstance(props, dict):
        taken = {str(name) for name in props if PROPERTY_NAME.match(str(name))}
        renamed_props = {}
        shown_of: dict[str, str] = {}
        for name, sub in props.items():
            name = str(name)
            shown = name if PROPERTY_NAME.match(name) else argument_name(name, taken)
            sub, subtree = _rename(sub, depth + 1)
            renamed_props[shown] = sub
            shown_of[name] = shown
            if shown != name or subtree is not None:
                tree["properties"][shown] = [name, subtree]
        out["properties"] = renamed_props
        if isinstance(schema.get("required"), list):
            out["required"] = [shown_of.get(str(r), r) for r in schema["required"]]
    for key, slot in (("items", "items"), ("additionalProperties", "values")):
        if isinstance(schema.get(key), dict):
            out[key], tree[slot] = _rename(schema[key], depth + 1)
    for key in _COMPOSITIONS:
        if isinstance(schema.get(key), list):
            members = []
            for member in schema[key]:
                member, subtree = _rename(member, depth + 1)
                members.append(member)
                _merge(tree, subtree)
            out[key] = members
    if not tree["properties"] and tree["items"] is None and tree["values"] is None:
        return out, None
    return out, tree


def _empty() -> dict:
    return {"properties": {}, "items": None, "values": None}


def _merge(into: dict, other: dict | None) -> None:
    if other is None:
        return
    into["properties"].update(other["properties"])
    for slot in ("items", "values"):
        if other[slot] is not None:
            if into[slot] is None:
                into[slot] = _empty()
            _merge(into[slot], other[slot])


def to_real(value: Any, tree: dict | None) -> Any:
    """The model's value with the real property names back."""
    return _translate(value, tree, real=True)


def to_shown(value: Any, tree: dict | None) -> Any:
    """A value with real property names (a passthrough request) as the model would send it."""
    return _translate(value, tree, real=False)


def _translate(value: Any, tree: dict | None, *, real: bool) -> Any:
    if tree is None:
        return value
    if isinstance(value, list):
        return [_translate(v, tree["items"], real=real) for v in value]
    if not isinstance(value, dict):
        return value
    if real:
        mapping = {shown: (name, sub) for shown, (name, sub) in tree["properties"].items()}
    else:
        mapping = {name: (shown, sub) for shown, (name, sub) in tree["properties"].items()}
    out = {}
    for key, item in value.items():
        target, subtree = mapping.get(key, (key, tree["values"]))
        out[target] = _translate(item, subtree, real=real)
    return out
