"""Rendered tools pass the vendors' own SDK type checks (offline), and TOOLS.md's limits, for the
inline specs and for every approved store plugin of the corpus."""

from __future__ import annotations

import re
from pathlib import Path

import mcp.types
import pytest
from anthropic.types import ToolParam
from django.conf import settings
from google.genai import types as genai_types
from openai.types.chat import ChatCompletionFunctionToolParam
from openai.types.responses import NamespaceToolParam
from pydantic import TypeAdapter

from plugins.tools import FORMATS, Renderer, build_toolset, security_parameter_names
from plugins.tools.names import ARGUMENT_NAME, TOOL_NAME
from plugins.tools.strict import ANTHROPIC_MAX_OPTIONAL, ANTHROPIC_MAX_UNIONS
from tests.tools.specs import data_plugin_spec, normalized

OPENAI_CHAT = TypeAdapter(ChatCompletionFunctionToolParam)
OPENAI_RESPONSES = TypeAdapter(NamespaceToolParam)
ANTHROPIC = TypeAdapter(ToolParam)
OPENAI_STRICT_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4"}
OPENAI_STRICT_FORMATS |= {"ipv6", "uuid"}


ANTHROPIC_PROPERTY_KEY = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")


def property_keys(schema) -> list[str]:
    """Every property name at every depth of a JSON Schema."""
    found = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                found.extend(value)
            found.extend(property_keys(value))
    elif isinstance(schema, list):
        for value in schema:
            found.extend(property_keys(value))
    return found


def check_rendered(fmt: str, rendered: list[dict]) -> None:
    """The SDK's own model accepts each rendered tool, within TOOLS.md's limits."""
    for item in rendered:
        if fmt == "openai":
            OPENAI_CHAT.validate_python(item, strict=True)
            function = item["function"]
            assert TOOL_NAME.match(function["name"])
            assert len(function["description"]) <= 1024
            assert function["parameters"]["type"] == "object"
            if function["strict"]:
                check_openai_strict(function["parameters"])
        elif fmt == "openai-responses":
            OPENAI_RESPONSES.validate_python(item, strict=True)
            for function in item["tools"]:
                assert isinstance(function["strict"], bool)
        elif fmt == "anthropic":
            ANTHROPIC.validate_python(item, strict=True)
            schema = item["input_schema"]
            assert not {"oneOf", "anyOf", "allOf"} & set(schema)
            assert all(ARGUMENT_NAME.match(key) for key in schema.get("properties", {}))
            nested = property_keys(schema)
            assert all(ANTHROPIC_PROPERTY_KEY.match(key) for key in nested), nested
        elif fmt == "gemini":
            declaration = genai_types.FunctionDeclaration.model_validate(item)
            assert declaration.parameters_json_schema == item["parametersJsonSchema"]
            assert declaration.parameters is None
        elif fmt == "mcp":
            tool = mcp.types.Tool.model_validate(item)
            assert tool.input_schema["type"] == "object"
            assert tool.annotations is not None
        else:  # pragma: no cover
            raise AssertionError(fmt)


def check_openai_strict(schema: dict) -> None:
    if schema.get("type") == "object" or "properties" in schema:
        assert schema["additionalProperties"] is False
        assert schema["required"] == list(schema["properties"])
    assert schema.get("format") in (None, *OPENAI_STRICT_FORMATS)
    for sub in schema.get("properties", {}).values():
        check_openai_strict(sub)
    for sub in schema.get("anyOf", []):
        check_openai_strict(sub)
    if isinstance(schema.get("items"), dict):
        check_openai_strict(schema["items"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_renders_tools_every_vendor_sdk_accepts(fmt):
    spec_doc = data_plugin_spec()
    toolset = build_toolset(normalized(spec_doc), security_names=security_parameter_names(spec_doc))
    rendered = Renderer(fmt).render_plugin(
        name="data", description="Query databases.", tools=toolset.tools
    )
    assert rendered
    check_rendered(fmt, rendered)


def test_it_keeps_anthropic_strict_tools_within_the_per_request_budget():
    spec_doc = data_plugin_spec()
    tools = build_toolset(normalized(spec_doc)).tools
    renderer = Renderer("anthropic")
    rendered = []
    for i in range(30):
        rendered += renderer.render_plugin(name=f"data{i}", description="d", tools=tools)
    strict = [t for t in rendered if t.get("strict")]
    assert 0 < len(strict) <= 20
    optional = sum(
        len(set(t["input_schema"]["properties"]) - set(t["input_schema"].get("required", [])))
        for t in strict
    )
    assert optional <= ANTHROPIC_MAX_OPTIONAL
    unions = sum(
        1
        for t in strict
        for p in t["input_schema"]["properties"].values()
        if isinstance(p.get("type"), list) or "anyOf" in p
    )
    assert unions <= ANTHROPIC_MAX_UNIONS


def test_it_groups_large_plugins_in_a_namespace_with_deferred_loading():
    spec_doc = data_plugin_spec()
    for i in range(12):
        spec_doc["paths"][f"/extra{i}"] = {
            "get": {"operationId": f"extra{i}", "responses": {"200": {"description": "OK"}}}
        }
    tools = build_toolset(normalized(spec_doc)).tools
    (namespace,) = Renderer("openai-responses").render_plugin(
        name="data", description="Query databases.", tools=tools
    )
    assert namespace["type"] == "namespace"
    assert namespace["name"] == "data"
    assert all(t["defer_loading"] is True for t in namespace["tools"])
    assert len(namespace["tools"]) == 15


CORPUS = Path(settings.MARKETPLACE_CORPUS_DIR)


@pytest.mark.corpus
def test_every_store_plugins_tools_pass_every_vendors_types():
    if not (CORPUS / "SOURCES.tsv").exists():
        pytest.skip(f"corpus not found at {CORPUS} (settings.MARKETPLACE_CORPUS_DIR)")
    from plugins.validation.corpus import iter_entries, run_corpus

    outcome = run_corpus(iter_entries(CORPUS))
    tool_count = 0
    for result in outcome.store_readable:
        toolset = build_toolset(
            result.report.plugin,
            security_names=security_parameter_names(result.report.normalized_openapi),
        )
        tool_count += len(toolset.tools)
        names = [t.name for t in toolset.tools]
        assert len(names) == len(set(names)), result.entry.slug
        for fmt in FORMATS:
            rendered = Renderer(fmt).render_plugin(
                name=toolset.plugin, description="d", tools=toolset.tools
            )
            try:
                check_rendered(fmt, rendered)
            except Exception as exc:  # name the plugin in the failure
                raise AssertionError(f"{result.entry.slug} ({fmt}): {exc}") from exc
    assert tool_count > 2000
