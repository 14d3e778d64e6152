"""The OpenAPI passthrough: requests shaped like the plugin's own API, mapped to flat arguments.

Clients that read a spec (LangChain, Semantic Kernel, FastMCP) call the served spec's `servers`
URL; under that base, the operation is matched from method and path (anything not in the pinned
spec is 404) and the request's path, query (read by each parameter's OpenAPI style and explode,
the rules the proxy writes them by: plugins.proxy.query), declared headers and body become the
same flat arguments a model would send, then run through the same pipeline.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

from plugins.proxy.arguments import parse_arguments
from plugins.proxy.errors import invalid_arguments
from plugins.proxy.query import coerce, query_arguments
from plugins.tools import Tool, ToolSet
from plugins.tools.canonical import FORM_BODY
from plugins.tools.nested import to_shown

_PARAM = re.compile(r"\{([^}/]+)\}")


def _pattern(path: str) -> re.Pattern:
    parts = _PARAM.split(path)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<p{i // 2}>[^/]+)" for i, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


def match_operation(toolset: ToolSet, method: str, path: str) -> tuple[Tool, dict] | None:
    """The tool whose method and path template match, with the raw path values by name."""
    path = "/" + path.lstrip("/")
    for tool in toolset.tools:
        if tool.method.upper() != method.upper():
            continue
        found = _pattern(tool.path).match(path)
        if found:
            names = _PARAM.findall(tool.path)
            # the server decoded the path already: once is all
            return tool, {name: found.group(f"p{i}") for i, name in enumerate(names)}
    return None


def arguments_from_request(
    tool: Tool, path_values: dict, query: dict[str, list[str]], headers, body: bytes
) -> dict:
    """The flat arguments a request under the passthrough base stands for."""
    props = tool.input_schema.get("properties", {})
    arguments: dict[str, object] = {}
    for name, value in path_values.items():
        arg = tool.argument_for("path", name)
        if arg is not None:
            arguments[arg] = coerce(value, props.get(arg, {}))
    arguments.update(query_arguments(tool, query))
    for arg, binding in tool.bindings.items():
        if binding.location == "header" and binding.name in headers:
            arguments[arg] = coerce(headers[binding.name], props.get(arg, {}))
    if body.strip():
        if tool.body_content_type is None:
            raise invalid_arguments("This operation takes no request body.", "")
        parsed = (
            _form_fields(tool, body, props)
            if tool.body_content_type == FORM_BODY
            else parse_arguments(body)
        )
        whole = next((a for a, b in tool.bindings.items() if b.location == "body_whole"), None)
        if whole is not None:
            arguments[whole] = to_shown(parsed, tool.bindings[whole].renames)
        elif isinstance(parsed, dict):
            for key, value in parsed.items():
                arg = tool.argument_for("body", key) or key
                if arg in arguments:
                    raise invalid_arguments("Given both in the body and elsewhere.", f"/{key}")
                binding = tool.bindings.get(arg)
                arguments[arg] = to_shown(value, binding.renames if binding else None)
        else:
            raise invalid_arguments("The body must be a JSON object.", "")
    return arguments


def _form_fields(tool: Tool, body: bytes, props: dict) -> dict:
    """An urlencoded body's fields, typed by their schemas (a repeated field is refused)."""
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise invalid_arguments("The body is not a valid form.", "") from None
    fields: dict[str, object] = {}
    for key, value in pairs:
        if key in fields:
            raise invalid_arguments("The field was given more than once.", f"/{key}")
        fields[key] = coerce(value, props.get(tool.argument_for("body", key) or key, {}))
    return fields


def _drop_filled(operation: dict, tool: Tool) -> None:
    """The parameters the marketplace fills (x-dependent) are not the client's to send."""
    filled = {(tool.bindings[arg].location, tool.bindings[arg].name) for arg in tool.dependents}
    if filled and isinstance(operation.get("parameters"), list):
        operation["parameters"] = [
            p
            for p in operation["parameters"]
            if not (isinstance(p, dict) and (p.get("in"), p.get("name")) in filled)
        ]


def served_spec(openapi: dict, *, base_url: str, operations: set[str], tools: ToolSet) -> dict:
    """The pinned, repaired spec with only the member's callable operations, `servers` set to
    the passthrough base and the marketplace token as the only security scheme."""
    spec = json.loads(json.dumps(openapi))
    granted = {(t.method, t.path): t for t in tools.tools if t.operation in operations}
    for path, item in list((spec.get("paths") or {}).items()):
        if not isinstance(item, dict):
            continue
        for method in list(item):
            if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                if (method, path) not in granted:
                    del item[method]
                elif isinstance(item[method], dict):
                    item[method].pop("security", None)
                    _drop_filled(item[method], granted[(method, path)])
        if not any(m in item for m in ("get", "put", "post", "delete", "patch", "head", "options")):
            del spec["paths"][path]
    spec["servers"] = [{"url": base_url}]
    components = spec.setdefault("components", {})
    components["securitySchemes"] = {"marketplace": {"type": "http", "scheme": "bearer"}}
    spec["security"] = [{"marketplace": []}]
    return spec
