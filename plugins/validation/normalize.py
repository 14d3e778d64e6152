"""Building the normalised plugin (`datatypes.NormalizedPlugin`) from the repaired documents.

Pure functions: they read documents and return model parts, and report nothing themselves; the
model-stage checks (checks/model.py) call them and emit the findings.
"""

from __future__ import annotations

import re
from typing import Any

from plugins.validation.datatypes import Auth, Operation, Parameter, RequestBody
from plugins.validation.domains import host_of, on_root_domain, resolve_url
from plugins.validation.refs import Dereferencer, escape_token

PARAMETER_LOCATIONS = ("query", "path", "header", "cookie")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake(key: str) -> str:
    return _CAMEL.sub("_", key).lower()


def snake_keys(block: Any) -> dict:
    """A mapping with camelCase keys made snake_case (snake_case keys win when both appear)."""
    if not isinstance(block, dict):
        return {}
    out: dict = {}
    for key, value in block.items():
        out.setdefault(snake(str(key)), value)
    for key, value in block.items():
        if snake(str(key)) == key:
            out[key] = value
    return out


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# -- identity and auth ------------------------------------------------------------------------


def auth_from_block(block: Any) -> Auth:
    data = snake_keys(block)
    tokens = data.get("verification_tokens")
    raw_type = data.get("type")
    return Auth(
        type=raw_type.strip().lower() if isinstance(raw_type, str) else "none",
        authorization_type=_lower(data.get("authorization_type")),
        client_url=text(data.get("client_url")),
        authorization_url=text(data.get("authorization_url")),
        scope=text(data.get("scope")),
        authorization_content_type=text(data.get("authorization_content_type")),
        token_validation_url=text(data.get("token_validation_url")),
        verification_tokens={str(k): v for k, v in tokens.items() if isinstance(v, str)}
        if isinstance(tokens, dict)
        else {},
    )


def _lower(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) else None


def model_name(name: str) -> str:
    """A `^[A-Za-z0-9_]{1,50}$` name_for_model from a human name ("My Plugin" -> "My_Plugin")."""
    return (re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "plugin")[:50]


def manifest_api_url(manifest: dict, base: str | None) -> str | None:
    api = manifest.get("api")
    url = text(api.get("url")) if isinstance(api, dict) else None
    if url is None:
        return None
    return resolve_url(base, url.strip()) or url


# -- servers ----------------------------------------------------------------------------------


def server_urls(spec: dict, spec_url: str | None) -> list[tuple[str, str | None]]:
    """(as written, absolute or None) for each `servers[].url`."""
    servers = spec.get("servers")
    out = []
    for server in servers if isinstance(servers, list) else []:
        url = server.get("url") if isinstance(server, dict) else None
        if isinstance(url, str) and url.strip():
            out.append((url, resolve_url(spec_url, url.strip())))
    return out


def choose_server(
    servers: list[tuple[str, str | None]], root: str | None, spec_url: str | None
) -> str | None:
    """First server on the root domain (or any absolute one if the root is unknown); else the
    spec's own scheme and host."""
    for _written, absolute in servers:
        if absolute and (root is None or on_root_domain(host_of(absolute), root)):
            return absolute.rstrip("/")
    if spec_url:
        scheme, rest = spec_url.split("://", 1)
        return f"{scheme}://{rest.split('/', 1)[0]}"
    return None


# -- OpenPlugin extensions --------------------------------------------------------------------

_CHAIN_KEYS = ("name", "description", "initial_input_port", "finish_output_port")
_PROCESSOR_KEYS = ("processor_type", "processor_implementation_type", "input_port", "output_port")


def processor_chain(block: Any) -> dict | None:
    """An x-filter / output module as {name, description, ports, processors: [...]}."""
    if not isinstance(block, dict):
        return None
    data = snake_keys(block)
    chain = {key: data.get(key) for key in _CHAIN_KEYS}
    processors = data.get("processors")
    chain["processors"] = [
        {
            **{key: snake_keys(p).get(key) for key in _PROCESSOR_KEYS},
            "metadata": snake_keys(p).get("metadata") or {},
        }
        if isinstance(p, dict)
        else p
        for p in (processors if isinstance(processors, list) else [])
    ]
    return chain


def output_modules(block: Any) -> list[dict]:
    modules = block if isinstance(block, list) else []
    return [chain for chain in (processor_chain(m) for m in modules) if chain is not None]


def find_lookups(schema: Any, where: str = "", depth: int = 0) -> list[dict]:
    """Every x-lookup inside a (dereferenced) response schema, with its pointer in the schema."""
    found: list[dict] = []
    if depth > 40:
        return found
    if isinstance(schema, dict):
        lookup = schema.get("x-lookup")
        if isinstance(lookup, dict):
            found.append({"pointer": where, **snake_keys(lookup)})
        for key, value in schema.items():
            if key != "x-lookup":
                found.extend(find_lookups(value, f"{where}/{escape_token(key)}", depth + 1))
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            found.extend(find_lookups(value, f"{where}/{i}", depth + 1))
    return found


# -- operations -------------------------------------------------------------------------------


def _media_schema(content: Any) -> tuple[str | None, Any]:
    if not isinstance(content, dict) or not content:
        return None, None
    types = [str(t) for t in content]
    chosen = next((t for t in types if t.split(";")[0].strip() == "application/json"), None)
    chosen = chosen or next((t for t in types if "json" in t), types[0])
    media = content.get(chosen)
    return chosen, media.get("schema") if isinstance(media, dict) else None


def build_parameter(raw: Any) -> Parameter | None:
    """A parameter from its (dereferenced) object; None when it has no usable name/location."""
    if not isinstance(raw, dict):
        return None
    name, location = raw.get("name"), raw.get("in")
    if not isinstance(name, str) or not name or location not in PARAMETER_LOCATIONS:
        return None
    schema = raw.get("schema")
    if schema is None and isinstance(raw.get("content"), dict):
        schema = _media_schema(raw["content"])[1]
    return Parameter(
        name=name,
        location=location,
        required=location == "path" or raw.get("required") is True,
        description=text(raw.get("description")),
        schema=schema if schema is not None else {},
        x_helpers=raw.get("x-helpers"),
        x_dependent=snake_keys(raw["x-dependent"])
        if isinstance(raw.get("x-dependent"), dict)
        else None,
        bootstrap_value=text(raw.get("x-bootstrap-value")),
        x_marketplace_resource=text(raw.get("x-marketplace-resource")),
        style=text(raw.get("style")),
        explode=raw["explode"] if isinstance(raw.get("explode"), bool) else None,
    )


def build_operation(
    *,
    path: str,
    method: str,
    where: str,
    name: str,
    operation_id: str | None,
    op: dict,
    path_params: list,
    deref: Dereferencer,
) -> tuple[Operation, list[int]]:
    """The operation and the indexes (in op `parameters`, path-level ones negative-1-based) of
    parameters that were dropped as unusable."""
    merged: dict[tuple[str, str], Parameter] = {}
    dropped: list[int] = []
    for source, params in ((-1, path_params), (1, op.get("parameters"))):
        for index, raw in enumerate(params if isinstance(params, list) else []):
            param = build_parameter(deref.expand(raw))
            if param is None:
                dropped.append(index if source > 0 else -(index + 1))
                continue
            merged[(param.name, param.location)] = param
    body = deref.expand(op.get("requestBody"))
    request_body = None
    if isinstance(body, dict):
        content_type, schema = _media_schema(body.get("content"))
        request_body = RequestBody(
            body.get("required") is True, content_type, schema if schema is not None else {}
        )
    responses: dict[str, Any] = {}
    lookups: list[dict] = []
    filter_block = op.get("x-filter")
    raw_responses = op.get("responses")
    for code, response in raw_responses.items() if isinstance(raw_responses, dict) else []:
        expanded = deref.expand(response)
        if not isinstance(expanded, dict):
            continue
        schema = _media_schema(expanded.get("content"))[1]
        responses[str(code)] = schema
        lookups.extend({"response": str(code), **lk} for lk in find_lookups(schema))
        if isinstance(expanded.get("x-lookup"), dict):
            lookups.append(
                {"response": str(code), "pointer": None, **snake_keys(expanded["x-lookup"])}
            )
        if str(code).startswith("2") and filter_block is None:
            filter_block = expanded.get("x-filter")
    examples = op.get("x-few-shot-examples")
    usage = op.get("x-human-usage-examples")
    operation = Operation(
        name=name,
        operation_id=operation_id,
        method=method,
        path=path,
        pointer=where,
        summary=text(op.get("summary")),
        description=text(op.get("description")),
        parameters=list(merged.values()),
        request_body=request_body,
        responses=responses,
        human_usage_examples=[u for u in usage if isinstance(u, str)]
        if isinstance(usage, list)
        else [],
        helpers=op.get("x-helpers"),
        bootstrap=op.get("x-bootstrap") is True,
        filter=processor_chain(filter_block),
        lookup=lookups,
        output_modules=output_modules(op.get("x-output-modules")),
        few_shot_examples=[snake_keys(e) for e in examples if isinstance(e, dict)]
        if isinstance(examples, list)
        else [],
    )
    return operation, dropped
