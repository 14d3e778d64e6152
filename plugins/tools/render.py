"""Rendering canonical tools in each vendor's format (TOOLS.md), one registry entry per format.

    renderer = Renderer("anthropic")
    rendered = renderer.render_plugin(name="todo", description="…", tools=[...])

A `Renderer` serves one response: per-request budgets (Anthropic's strict-tool limits) are
counted across every plugin it renders. Formats: openai (Chat Completions, the default),
openai-responses (a namespace per plugin, deferred loading for large ones), anthropic, gemini
(`parametersJsonSchema`), mcp (`inputSchema` and annotations).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from plugins.tools import names, schemas
from plugins.tools.canonical import Tool
from plugins.tools.strict import ANTHROPIC_MAX_OPTIONAL, ANTHROPIC_MAX_UNIONS

DEFAULT_FORMAT = "openai"
DEFER_LOADING_OVER = 10  # operations in one plugin beyond which loading is deferred
ANTHROPIC_MAX_STRICT_TOOLS = 20


class Renderer:
    def __init__(self, fmt: str = DEFAULT_FORMAT) -> None:
        if fmt not in RENDERERS:
            raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
        self.format = fmt
        self._anthropic_budget = {"tools": 0, "optional": 0, "unions": 0}

    def render_plugin(self, *, name: str, description: str, tools: Iterable[Tool]) -> list[dict]:
        tools = list(tools)
        return RENDERERS[self.format](self, name, description, tools)

    def defer_loading(self, tools: list[Tool]) -> bool:
        return len(tools) > DEFER_LOADING_OVER


def _openai(renderer: Renderer, name: str, description: str, tools: list[Tool]) -> list[dict]:
    rendered = []
    for tool in tools:
        function: dict = {"name": tool.name, "description": tool.description}
        if tool.openai_strict is not None:
            function["parameters"] = tool.openai_strict
            function["strict"] = True
        else:
            function["parameters"] = tool.parameters
            function["strict"] = False
        rendered.append({"type": "function", "function": function})
    return rendered


def _openai_responses(
    renderer: Renderer, name: str, description: str, tools: list[Tool]
) -> list[dict]:
    defer = renderer.defer_loading(tools)
    functions = []
    for tool in tools:
        strict = tool.openai_strict is not None
        function = {
            "type": "function",
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.openai_strict if strict else tool.parameters,
            # Sent explicitly: the Responses API silently falls back to non-strict otherwise.
            "strict": strict,
        }
        if defer:
            function["defer_loading"] = True
        functions.append(function)
    if not functions:
        return []
    return [
        {
            "type": "namespace",
            "name": namespace_name(name),
            "description": schemas.clip(description or name),
            "tools": functions,
        }
    ]


def _anthropic(renderer: Renderer, name: str, description: str, tools: list[Tool]) -> list[dict]:
    budget = renderer._anthropic_budget
    defer = renderer.defer_loading(tools)
    rendered = []
    for tool in tools:
        item: dict = {"name": tool.name, "description": tool.description}
        counts = tool.anthropic_counts or {}
        fits = (
            tool.anthropic_strict is not None
            and budget["tools"] + 1 <= ANTHROPIC_MAX_STRICT_TOOLS
            and budget["optional"] + counts.get("optional", 0) <= ANTHROPIC_MAX_OPTIONAL
            and budget["unions"] + counts.get("unions", 0) <= ANTHROPIC_MAX_UNIONS
        )
        if fits:
            budget["tools"] += 1
            budget["optional"] += counts.get("optional", 0)
            budget["unions"] += counts.get("unions", 0)
            item["input_schema"] = tool.anthropic_strict
            item["strict"] = True
        else:
            item["input_schema"] = tool.parameters
        if defer:
            item["defer_loading"] = True
        rendered.append(item)
    return rendered


def _gemini(renderer: Renderer, name: str, description: str, tools: list[Tool]) -> list[dict]:
    return [
        {
            "name": tool.name,
            "description": tool.description,
            "parametersJsonSchema": tool.parameters,
        }
        for tool in tools
    ]


def _mcp(renderer: Renderer, name: str, description: str, tools: list[Tool]) -> list[dict]:
    rendered = []
    for tool in tools:
        rendered.append(
            {
                "name": tool.name,
                "title": f"{name}: {tool.operation}",
                "description": tool.description,
                "inputSchema": tool.parameters,
                "annotations": {
                    "readOnlyHint": tool.read_only,
                    "destructiveHint": tool.destructive,
                    "idempotentHint": tool.method in ("get", "head", "options", "put", "delete"),
                    "openWorldHint": True,
                },
            }
        )
    return rendered


def namespace_name(name: str) -> str:
    cleaned = names._cleaned(name) or "plugin"
    return cleaned if cleaned[0].isalpha() else "p" + cleaned


RENDERERS: dict[str, Callable[[Renderer, str, str, list[Tool]], list[dict]]] = {
    "openai": _openai,
    "openai-responses": _openai_responses,
    "anthropic": _anthropic,
    "gemini": _gemini,
    "mcp": _mcp,
}
FORMATS = tuple(RENDERERS)
