"""Canonical tool definitions, built once per validated version.

`build_toolset(plugin, security_names=...)` turns the normalised plugin (the validated version's
`normalized` document) into one `Tool` per callable operation, and a `DisabledOperation` with a
reason for each operation that can't be served. A tool's arguments are one flat object: path,
query, header, cookie and body fields side by side under valid names; `bindings` maps each
argument back to where it goes in the real request, which is how the proxy rebuilds it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from plugins.tools import names, nested, references, schemas, strict

READ_ONLY_METHODS = frozenset({"get", "head", "options"})
DESTRUCTIVE_METHODS = frozenset({"delete", "put", "patch"})
JSON_BODY = "application/json"
FORM_BODY = "application/x-www-form-urlencoded"
# Headers the marketplace or the HTTP layer sets; a spec declaring them as parameters does not
# make them arguments (credentials in particular never are).
RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "host",
        "content-type",
        "content-length",
        "accept",
        "accept-encoding",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
        "x-api-key",
        "api-key",
        "x-marketplace-assertion",
    }
)
RESOURCE_KEY = "x-marketplace-resource"
PATH_PARAMETER = re.compile(r"\{([^}/]+)\}")


@dataclass(frozen=True)
class Binding:
    """Where one argument goes: `location` path|query|header|cookie|body (a property of the
    JSON/form object) or body_whole (the whole body); `name` is the real name."""

    location: str
    name: str
    resource: str | None = None  # the guarded-resource kind, e.g. "database"
    renames: dict | None = None  # nested property names renamed for vendors (tools.nested)
    # a query parameter's OpenAPI style (form, spaceDelimited, pipeDelimited, deepObject)
    style: str = "form"
    explode: bool = True


@dataclass(frozen=True)
class Dependent:
    """An argument the marketplace fills (x-dependent): before the call it runs `operation`,
    which needs no model input, with `arguments` (spec defaults) and `templates`
    (x-bootstrap-value, rendered with the member's credential), and reads the value from its
    answer (`value_at`, else the rule in tools.references; `parameter` is the real name)."""

    operation: str
    parameter: str
    value_at: str | None = None
    arguments: dict = field(default_factory=dict)
    templates: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Lookup:
    """A response field made readable (x-lookup): after the call the marketplace runs
    `operation` with each value found at `pointer` in the `response` answer's schema put in
    `argument` (plus its `arguments` and `templates`, as for Dependent). `key` names the
    field in the answer's `lookups`."""

    operation: str
    argument: str
    key: str
    response: str
    pointer: str | None
    arguments: dict = field(default_factory=dict)
    templates: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Tool:
    name: str
    operation: str
    method: str
    path: str
    description: str
    parameters: dict  # portable JSON Schema shown to models
    input_schema: dict  # checking-form JSON Schema, root closed: the proxy validates with it
    bindings: dict[str, Binding]
    body_content_type: str | None = None
    openai_strict: dict | None = None
    openai_strict_reason: str | None = None
    anthropic_strict: dict | None = None
    anthropic_strict_reason: str | None = None
    anthropic_counts: dict = field(default_factory=dict)
    read_only: bool = False
    destructive: bool = False
    bootstrap: bool = False
    has_filter: bool = False
    few_shot_examples: tuple = ()
    human_usage_examples: tuple = ()
    helpers: Any = None
    # argument -> how the marketplace fills it; such arguments are not shown to the model
    dependents: dict[str, Dependent] = field(default_factory=dict)
    lookups: tuple[Lookup, ...] = ()

    @property
    def resources(self) -> dict[str, str]:
        """Guarded arguments and their kinds, as marked by the spec."""
        return {arg: b.resource for arg, b in self.bindings.items() if b.resource}

    def argument_for(self, location: str, name: str) -> str | None:
        for arg, binding in self.bindings.items():
            if binding.location == location and binding.name == name:
                return arg
        return None


@dataclass(frozen=True)
class DisabledOperation:
    operation: str
    method: str
    path: str
    reason: str


@dataclass(frozen=True)
class ToolSet:
    plugin: str
    tools: tuple[Tool, ...]
    disabled: tuple[DisabledOperation, ...]

    def tool(self, operation: str) -> Tool | None:
        return next((t for t in self.tools if t.operation == operation), None)

    def to_dict(self) -> dict:
        return asdict(self)


class _Disabled(Exception):
    pass


def build_toolset(plugin: dict, *, security_names: frozenset[str] = frozenset()) -> ToolSet:
    """Tools for every operation of a normalised plugin (see plugins.validation.model).

    `security_names` are lower-cased header/query/cookie names the spec's security schemes use
    (API keys): such parameters are credentials and never become arguments.
    """
    plugin_name = plugin.get("name_for_model") or "plugin"
    openapi_30 = str(plugin.get("openapi_version") or "3.0").startswith("3.0")
    server = plugin.get("server_url")
    taken: set[str] = set()
    tools: list[Tool] = []
    disabled: list[DisabledOperation] = []
    for op in plugin.get("operations") or []:
        op_name = op.get("name") or ""
        try:
            if not server:
                raise _Disabled("The validated spec has no usable server URL.")
            tools.append(
                _build_tool(
                    plugin_name,
                    op,
                    taken=taken,
                    openapi_30=openapi_30,
                    security_names=security_names,
                )
            )
        except _Disabled as exc:
            disabled.append(
                DisabledOperation(
                    operation=op_name,
                    method=op.get("method", ""),
                    path=op.get("path", ""),
                    reason=str(exc),
                )
            )
    tools = _with_references(plugin, tools, security_names)
    return ToolSet(plugin=plugin_name, tools=tuple(tools), disabled=tuple(disabled))


def _explode(param: dict) -> bool:
    """OpenAPI's default: explode for form (and deepObject, which only means that), else not."""
    if isinstance(param.get("explode"), bool):
        return param["explode"]
    return param.get("style") in (None, "form", "deepObject")


def set_by_marketplace(param: dict, security_names: frozenset[str] = frozenset()) -> bool:
    """A parameter the marketplace or the HTTP layer sets (a credential, a transport header):
    never an argument."""
    lowered = str(param.get("name")).lower()
    if param.get("in") == "header" and lowered in RESERVED_HEADERS:
        return True
    return lowered in security_names


def _with_references(plugin: dict, tools: list[Tool], security_names) -> list[Tool]:
    """Tools with their x-dependent arguments taken from the model and their x-lookups
    attached, wherever the referenced operation needs no model input (tools.references)."""
    by_name = {t.operation: t for t in tools}

    def runnable(op: dict | None, *, caller: str, provided=None) -> Tool | None:
        target = by_name.get(op.get("name")) if op else None
        if target is None or target.operation == caller:
            return None
        missing = references.missing_input(
            op,
            set_by_marketplace=lambda p: set_by_marketplace(p, security_names),
            provided=provided,
        )
        return target if missing is None else None

    out = []
    for op in plugin.get("operations") or []:
        tool = by_name.get(op.get("name"))
        if tool is None:
            continue
        dependents: dict[str, Dependent] = {}
        for param in op.get("parameters") or []:
            block = param.get("x_dependent")
            arg = tool.argument_for(param.get("in"), param.get("name"))
            source = references.operation_at(plugin, block)
            target = runnable(source, caller=tool.operation)
            value_at = block.get("field") if isinstance(block, dict) else None
            if arg is None or target is None or not isinstance(value_at, str | None):
                continue
            arguments, templates = _presets(source, target)
            dependents[arg] = Dependent(
                target.operation, param["name"], value_at, arguments, templates
            )
        lookups = []
        for block in op.get("lookup") or []:
            source = references.operation_at(plugin, block)
            wanted = references.lookup_parameter(block.get("parameter"))
            target = runnable(source, caller=tool.operation, provided=wanted)
            argument = target.argument_for(*wanted) if target and wanted else None
            if argument is None:
                continue
            arguments, templates = _presets(source, target)
            arguments.pop(argument, None)
            templates.pop(argument, None)
            pointer = block.get("pointer")
            key = _lookup_key(pointer, wanted[1])
            lookups.append(
                Lookup(
                    target.operation,
                    argument,
                    key,
                    str(block.get("response")),
                    pointer,
                    arguments,
                    templates,
                )
            )
        out.append(_hide(tool, dependents, tuple(lookups)) if dependents or lookups else tool)
    return out


def _presets(op: dict, tool: Tool) -> tuple[dict, dict]:
    """The referenced tool's arguments the marketplace fills: defaults of required parameters
    and every x-bootstrap-value template."""
    params = op.get("parameters") or []
    required = {(p.get("in"), p.get("name")) for p in params if p.get("required")}
    arguments, templates = {}, {}
    for (location, name), (kind, value) in references.preset_values(op).items():
        arg = tool.argument_for(location, name)
        if arg is None:
            continue
        if kind == "template":
            templates[arg] = value
        elif (location, name) in required:
            arguments[arg] = value
    return arguments, templates


def _lookup_key(pointer: str | None, parameter: str) -> str:
    """The response field's name (the last property in the pointer), else the parameter's."""
    tokens = (pointer or "").split("/")
    names_in = [tokens[i + 1] for i, t in enumerate(tokens[:-1]) if t == "properties"]
    return names_in[-1].replace("~1", "/").replace("~0", "~") if names_in else parameter


def _hide(tool: Tool, dependents: dict[str, Dependent], lookups: tuple[Lookup, ...]) -> Tool:
    """`tool` without the arguments the marketplace fills: not shown, not required (the
    checking schema keeps them, to check the values the referenced operation gives)."""
    parameters = {
        **tool.parameters,
        "properties": {
            k: v for k, v in tool.parameters["properties"].items() if k not in dependents
        },
    }
    shown_required = [r for r in tool.parameters.get("required", []) if r not in dependents]
    parameters.pop("required", None)
    if shown_required:
        parameters["required"] = shown_required
    input_schema = dict(tool.input_schema)
    input_schema.pop("required", None)
    if shown_required:
        input_schema["required"] = shown_required
    return dataclasses.replace(
        tool,
        parameters=parameters,
        input_schema=input_schema,
        dependents=dependents,
        lookups=lookups,
        **strict.variants(parameters),
    )


def _build_tool(
    plugin_name: str,
    op: dict,
    *,
    taken: set[str],
    openapi_30: bool,
    security_names: frozenset[str],
) -> Tool:
    method = str(op.get("method", "get")).lower()
    arg_names: set[str] = set()
    checking: dict[str, Any] = {}
    shown: dict[str, Any] = {}
    required: list[str] = []
    bindings: dict[str, Binding] = {}

    def add(arg: str, schema: Any, binding: Binding, *, is_required: bool, text: str | None):
        problem = schemas.unusable(schema)
        if problem:
            raise _Disabled(
                f"The schema of {binding.name or 'the request body'} can't be used: {problem}."
            )
        schema, renames = nested.rename_properties(schema)
        if renames is not None:
            binding = replace(binding, renames=renames)
        check = schemas.json_schema(schema, openapi_30=openapi_30)
        show = schemas.portable(check, source=schema)
        if text and "description" not in show:
            show["description"] = schemas.clip(text, 700)
        if binding.resource:
            kind = binding.resource
            show["description"] = schemas.clip(
                " ".join(
                    filter(None, [show.get("description"), f"A {kind} you are allowed to use."])
                ),
                700,
            )
        checking[arg] = check
        shown[arg] = show
        bindings[arg] = binding
        if is_required:
            required.append(arg)

    for param in op.get("parameters") or []:
        location, real = param.get("in"), param.get("name")
        if set_by_marketplace(param, security_names):
            continue
        schema = param.get("schema") if param.get("schema") is not None else {}
        resource = param.get("x_marketplace_resource") or _resource_of(schema)
        arg = names.argument_name(real, arg_names, prefix=location)
        add(
            arg,
            schema,
            Binding(
                location=location,
                name=real,
                resource=resource,
                style=str(param.get("style") or "form"),
                explode=_explode(param),
            ),
            is_required=bool(param.get("required")),
            text=param.get("description"),
        )

    bound = {b.name for b in bindings.values() if b.location == "path"}
    for name in PATH_PARAMETER.findall(str(op.get("path") or "")):
        if name not in bound:
            raise _Disabled(
                f"The path parameter {{{name}}} is not declared, so no URL can be built."
            )

    body = op.get("request_body")
    content_type = None
    if body:
        content_type = str(body.get("content_type") or JSON_BODY)
        media = content_type.split(";")[0].strip().lower()
        if media == FORM_BODY:
            content_type = FORM_BODY
        elif media == JSON_BODY or media.endswith("+json"):
            content_type = media
        else:
            raise _Disabled(f"Request bodies of type {media} are not supported.")
        body_schema = body.get("schema") if body.get("schema") is not None else {}
        body_required = bool(body.get("required"))
        props = body_schema.get("properties") if isinstance(body_schema, dict) else None
        if schemas.is_object_schema(body_schema) and isinstance(props, dict) and props:
            inner_required = set(body_schema.get("required") or [])
            for prop, sub in props.items():
                if isinstance(sub, dict) and sub.get("readOnly") is True:
                    continue
                arg = names.argument_name(str(prop), arg_names, prefix="body")
                add(
                    arg,
                    sub,
                    Binding(location="body", name=str(prop), resource=_resource_of(sub)),
                    is_required=body_required and prop in inner_required,
                    text=None,
                )
        elif content_type == FORM_BODY:
            raise _Disabled("A form body that is not an object can't be sent.")
        else:
            arg = names.argument_name("body", arg_names, prefix="request")
            add(
                arg,
                body_schema,
                Binding(location="body_whole", name=""),
                is_required=body_required,
                text="The request body.",
            )

    parameters: dict[str, Any] = {"type": "object", "properties": shown}
    if required:
        parameters["required"] = required
    input_schema: dict[str, Any] = {
        "type": "object",
        "properties": checking,
        "additionalProperties": False,
    }
    if required:
        input_schema["required"] = required
    openai_schema, openai_reason = strict.openai_strict(parameters)
    anthropic_schema, anthropic_reason, counts = strict.anthropic_strict(parameters)
    return Tool(
        name=names.tool_name(plugin_name, op.get("name") or "", taken),
        operation=op.get("name") or "",
        method=method,
        path=op.get("path") or "/",
        description=_description(op, method),
        parameters=parameters,
        input_schema=input_schema,
        bindings=bindings,
        body_content_type=content_type,
        openai_strict=openai_schema,
        openai_strict_reason=openai_reason,
        anthropic_strict=anthropic_schema,
        anthropic_strict_reason=anthropic_reason,
        anthropic_counts=counts,
        read_only=method in READ_ONLY_METHODS,
        destructive=method in DESTRUCTIVE_METHODS,
        bootstrap=bool(op.get("bootstrap")),
        has_filter=bool(op.get("filter")),
        few_shot_examples=tuple(op.get("few_shot_examples") or ()),
        human_usage_examples=tuple(op.get("human_usage_examples") or ()),
        helpers=op.get("helpers"),
    )


def _resource_of(schema: Any) -> str | None:
    if isinstance(schema, dict) and isinstance(schema.get(RESOURCE_KEY), str):
        return schema[RESOURCE_KEY].strip() or None
    return None


def _description(op: dict, method: str) -> str:
    parts = [op.get("summary"), op.get("description")]
    text = " ".join(dict.fromkeys(p.strip() for p in parts if isinstance(p, str) and p.strip()))
    return schemas.clip(text or f"{method.upper()} {op.get('path') or '/'}")


def security_parameter_names(openapi: dict | None) -> frozenset[str]:
    """Lower-cased names of apiKey security schemes' header/query/cookie parameters."""
    found: set[str] = set()
    components = (openapi or {}).get("components")
    schemes = components.get("securitySchemes") if isinstance(components, dict) else None
    for scheme in (schemes or {}).values() if isinstance(schemes, dict) else []:
        is_key = isinstance(scheme, dict) and scheme.get("type") == "apiKey"
        if is_key and isinstance(scheme.get("name"), str):
            found.add(scheme["name"].lower())
    return frozenset(found)
