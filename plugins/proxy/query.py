"""Query parameters by their OpenAPI `style` and `explode`, both ways and by the same rules:
`query_pairs` writes an argument into the upstream request's query (plugins.proxy.build), and
`query_arguments` reads a request's query back into the flat arguments (the passthrough).

- a scalar: `name=v`, whatever the style;
- an array, exploded: `name=a&name=b`; not exploded, one parameter: `name=a,b` (form),
  `name=a b` (spaceDelimited), `name=a|b` (pipeDelimited);
- an object, deepObject: `name[k1]=v1&name[k2]=v2`; not exploded: `name=k1,v1,k2,v2`;
  form, exploded: `k1=v1&k2=v2`, each property a parameter of its own.

Every value is written as text (`scalar`: booleans as true/false, a nested object or array as
JSON) and read back by its schema (`coerce`). An exploded form object's properties may not name
another declared query parameter (one could stand in for a guarded one); reading, a declared
name is always that parameter's, and a name nobody declares is a property of the operation's
exploded form object that declares it (or of its only one). Reading is lenient where a client
may be: an array declared not exploded may also come as repeated parameters.
"""

from __future__ import annotations

import json
import re

from plugins.proxy.errors import invalid_arguments
from plugins.tools import Tool
from plugins.tools.nested import to_shown

DELIMITERS = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|"}
_DEEP = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<key>[^\[\]]*)\]$")


def scalar(value: object) -> str:
    """A value as the text a query, header, cookie or form field carries."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def query_pairs(tool: Tool, arg: str, binding, value) -> list[tuple[str, str]]:
    """A query argument serialised per its OpenAPI style and explode."""
    name, delimiter = binding.name, DELIMITERS.get(binding.style, ",")
    if isinstance(value, dict):
        if binding.style == "deepObject":
            return [(f"{name}[{k}]", scalar(v)) for k, v in value.items()]
        if not binding.explode:
            return [(name, ",".join(scalar(x) for pair in value.items() for x in pair))]
        # form/explode spreads an object's properties as parameters of their own: none may
        # stand in for another declared parameter (a guarded one in particular)
        if any(str(k) in _query_names(tool, name) for k in value):
            raise invalid_arguments("Names another query parameter.", f"/{arg}")
        return [(str(k), scalar(v)) for k, v in value.items()]
    if isinstance(value, list) and not binding.explode:
        return [(name, delimiter.join(scalar(v) for v in value))]
    return [(name, scalar(v)) for v in (value if isinstance(value, list) else [value])]


def _query_names(tool: Tool, own: str) -> set[str]:
    return {b.name for b in tool.bindings.values() if b.location == "query" and b.name != own}


def _kinds(schema: dict) -> set:
    kind = schema.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if kind is None and isinstance(schema.get("properties"), dict):
        kinds.add("object")
    return kinds


def coerce(value: str, schema: dict) -> object:
    """Text from a query, path, header or form field, typed by its schema where it reads as
    that type (otherwise left as text, for the schema check to name)."""
    kinds = _kinds(schema)
    try:
        if "integer" in kinds:
            return int(value)
        if "number" in kinds:
            return float(value)
    except ValueError:
        return value
    if "boolean" in kinds and value in ("true", "false"):
        return value == "true"
    if kinds & {"object", "array"} and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def query_arguments(tool: Tool, query: dict[str, list[str]]) -> dict:
    """The flat arguments a request's query stands for (`query`: each name's values in order),
    read by the same rules `query_pairs` writes them; 422 for what they can't produce."""
    props = tool.input_schema.get("properties", {})
    declared = {b.name: arg for arg, b in tool.bindings.items() if b.location == "query"}
    arguments: dict[str, object] = {}
    objects: dict[str, dict[str, str]] = {}  # argument → {real property name: text}

    def object_of(arg: str) -> dict[str, str]:
        arguments.setdefault(arg, None)  # in the order the client wrote them, filled below
        return objects.setdefault(arg, {})

    def set_property(arg: str, key: str, values: list[str]) -> None:
        fields = object_of(arg)
        if len(values) > 1 or key in fields:
            raise invalid_arguments("The parameter was given more than once.", f"/{arg}/{key}")
        fields[key] = values[0]

    for name, values in query.items():
        arg = declared.get(name)
        deep = _DEEP.match(name)
        if arg is not None:
            binding, schema = tool.bindings[arg], props.get(arg, {})
            if "object" in _kinds(schema):
                if binding.style == "deepObject":
                    raise invalid_arguments("Expected as name[property]=value.", f"/{arg}")
                if binding.explode:  # a property named like its own parameter
                    set_property(arg, name, values)
                    continue
                if len(values) > 1:
                    raise invalid_arguments("The parameter was given more than once.", f"/{arg}")
                object_of(arg)  # `name=` is the empty object
                parts = values[0].split(",") if values[0] else []
                if len(parts) % 2:
                    raise invalid_arguments("Expected property,value pairs.", f"/{arg}")
                for key, text in zip(parts[::2], parts[1::2], strict=True):
                    set_property(arg, key, [text])
            elif "array" in _kinds(schema):
                if not binding.explode and len(values) == 1:
                    values = values[0].split(DELIMITERS.get(binding.style, ","))
                items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
                arguments[arg] = [coerce(v, items) for v in values]
            else:
                if len(values) > 1:
                    raise invalid_arguments("The parameter was given more than once.", f"/{arg}")
                arguments[arg] = coerce(values[0], schema)
        elif deep and _is_deep_object(tool, declared.get(deep["name"])):
            set_property(declared[deep["name"]], deep["key"], values)
        else:
            owner = _spread_owner(tool, props, name)
            if owner is None:
                raise invalid_arguments("Unknown query parameter.", f"/{name}")
            set_property(owner, name, values)
    for arg, fields in objects.items():
        shown = to_shown(fields, tool.bindings[arg].renames)
        schema = props.get(arg, {})
        known = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        extra = schema.get("additionalProperties")
        extra = extra if isinstance(extra, dict) else {}
        arguments[arg] = {key: coerce(text, known.get(key, extra)) for key, text in shown.items()}
    return arguments


def _is_deep_object(tool: Tool, arg: str | None) -> bool:
    return arg is not None and tool.bindings[arg].style == "deepObject"


def _spread_owner(tool: Tool, props: dict, name: str) -> str | None:
    """The exploded form object a query name nobody declares belongs to: the one whose schema
    names that property, else the operation's only one; None when there is none (or no way to
    tell)."""
    spread = [
        arg
        for arg, b in tool.bindings.items()
        if b.location == "query"
        and b.style != "deepObject"
        and b.explode
        and "object" in _kinds(props.get(arg, {}))
    ]
    naming = [
        arg
        for arg in spread
        if name in _real_properties(props.get(arg, {}), tool.bindings[arg].renames)
    ]
    if len(naming) == 1:
        return naming[0]
    return spread[0] if len(spread) == 1 and not naming else None


def _real_properties(schema: dict, renames: dict | None) -> set[str]:
    shown = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    renamed = (renames or {}).get("properties") or {}
    return {renamed[key][0] if key in renamed else key for key in shown}
