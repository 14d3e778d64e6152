"""What changed between two normalised plugin versions (`NormalizedPlugin.to_dict()` dicts).

Operations are matched by name (the operationId or its repaired/synthesised form). Breaking:
a removed operation, a moved operation (method or path), a new required parameter or body
property, an optional one becoming required, a type change (parameter, body property,
request body or 2xx response), a changed request content type, and a changed auth type.
"""

from __future__ import annotations

from typing import Any


def _change(kind: str, detail: str, breaking: bool) -> dict:
    return {"kind": kind, "detail": detail, "breaking": breaking}


def _type(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"array<{_type(schema['items'])}>"
    return kind if isinstance(kind, str) or kind is None else str(kind)


def _params(op: dict) -> dict[tuple[str, str], dict]:
    return {(p.get("in"), p.get("name")): p for p in op.get("parameters") or []}


def _parameter_changes(old: dict, new: dict) -> list[dict]:
    changes = []
    before, after = _params(old), _params(new)
    for key, param in after.items():
        label = f"{key[0]} parameter '{key[1]}'"
        if key not in before:
            required = bool(param.get("required"))
            state = "required" if required else "optional"
            changes.append(_change("parameter_added", f"new {state} {label}", required))
            continue
        previous = before[key]
        if param.get("required") and not previous.get("required"):
            changes.append(_change("parameter_required", f"{label} is now required", True))
        old_type, new_type = _type(previous.get("schema")), _type(param.get("schema"))
        if old_type != new_type and old_type is not None:
            changes.append(_change("type_changed", f"{label}: {old_type} -> {new_type}", True))
    for key in before.keys() - after.keys():
        changes.append(
            _change("parameter_removed", f"{key[0]} parameter '{key[1]}' removed", False)
        )
    return changes


def _body_changes(old: dict, new: dict) -> list[dict]:
    before, after = old.get("request_body"), new.get("request_body")
    if not before and not after:
        return []
    if not before:
        required = bool(after.get("required"))
        return [_change("body_added", "a request body was added", required)]
    if not after:
        return [_change("body_removed", "the request body was removed", False)]
    changes = []
    if before.get("content_type") != after.get("content_type"):
        changes.append(
            _change(
                "body_content_type",
                f"request content type {before.get('content_type')} -> {after.get('content_type')}",
                True,
            )
        )
    old_schema, new_schema = before.get("schema") or {}, after.get("schema") or {}
    if _type(old_schema) != _type(new_schema) and _type(old_schema) is not None:
        changes.append(
            _change(
                "type_changed", f"request body: {_type(old_schema)} -> {_type(new_schema)}", True
            )
        )
    old_props = old_schema.get("properties") if isinstance(old_schema, dict) else None
    new_props = new_schema.get("properties") if isinstance(new_schema, dict) else None
    if isinstance(old_props, dict) and isinstance(new_props, dict):
        old_required = set(old_schema.get("required") or [])
        new_required = set(new_schema.get("required") or [])
        for name in new_props.keys() - old_props.keys():
            required = name in new_required
            state = "required" if required else "optional"
            changes.append(
                _change("property_added", f"new {state} body property '{name}'", required)
            )
        for name in (new_required & old_props.keys()) - old_required:
            changes.append(
                _change("property_required", f"body property '{name}' is now required", True)
            )
        for name in old_props.keys() & new_props.keys():
            a, b = _type(old_props[name]), _type(new_props[name])
            if a != b and a is not None:
                changes.append(_change("type_changed", f"body property '{name}': {a} -> {b}", True))
        for name in old_props.keys() - new_props.keys():
            changes.append(_change("property_removed", f"body property '{name}' removed", False))
    return changes


def _response_changes(old: dict, new: dict) -> list[dict]:
    changes = []
    before, after = old.get("responses") or {}, new.get("responses") or {}
    for code in sorted(before.keys() & after.keys()):
        if not str(code).startswith("2"):
            continue
        a, b = _type(before[code]), _type(after[code])
        if a != b and a is not None:
            changes.append(_change("response_type_changed", f"response {code}: {a} -> {b}", True))
    return changes


def _operation_changes(old: dict, new: dict) -> list[dict]:
    changes = []
    if (old.get("method"), old.get("path")) != (new.get("method"), new.get("path")):
        changes.append(
            _change(
                "endpoint",
                f"{str(old.get('method')).upper()} {old.get('path')}"
                f" -> {str(new.get('method')).upper()} {new.get('path')}",
                True,
            )
        )
    changes += _parameter_changes(old, new) + _body_changes(old, new)
    changes += _response_changes(old, new)
    for key in ("summary", "description"):
        if old.get(key) != new.get(key):
            changes.append(_change(key, f"the {key} changed", False))
    return changes


def diff_versions(old_plugin: dict | None, new_plugin: dict) -> dict:
    """{"added", "removed", "changed": [{operation, changes, breaking}], "plugin", "breaking"}."""
    old_ops = {op["name"]: op for op in (old_plugin or {}).get("operations") or []}
    new_ops = {op["name"]: op for op in new_plugin.get("operations") or []}
    changed = []
    for name in [n for n in new_ops if n in old_ops]:
        changes = _operation_changes(old_ops[name], new_ops[name])
        if changes:
            changed.append(
                {
                    "operation": name,
                    "changes": changes,
                    "breaking": any(c["breaking"] for c in changes),
                }
            )
    plugin_changes = []
    if old_plugin is not None:
        old_auth = (old_plugin.get("auth") or {}).get("type")
        new_auth = (new_plugin.get("auth") or {}).get("type")
        if old_auth != new_auth:
            plugin_changes.append(_change("auth_type", f"auth {old_auth} -> {new_auth}", True))
        if old_plugin.get("server_url") != new_plugin.get("server_url"):
            plugin_changes.append(_change("server_url", "the base URL changed", False))
    removed = [n for n in old_ops if n not in new_ops]
    return {
        "added": [n for n in new_ops if n not in old_ops],
        "removed": removed,
        "changed": changed,
        "plugin": plugin_changes,
        "breaking": bool(removed)
        or any(c["breaking"] for c in changed)
        or any(c["breaking"] for c in plugin_changes),
    }
