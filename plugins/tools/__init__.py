"""Tool definitions for LLMs, built from a validated version's normalised operations. Pure.

    from plugins.tools import build_toolset, narrowed, Renderer, FORMATS

    toolset = build_toolset(version.normalized, security_names=security_parameter_names(spec))
    tool = toolset.tool("querySqlDatabase")    # Tool: name, parameters, input_schema, bindings…
    Renderer("anthropic").render_plugin(name=..., description=..., tools=toolset.tools)

The canonical form is portable (TOOLS.md "the portable default"); strict variants are derived
per vendor with the reason when one can't be; `bindings` let the proxy rebuild the real request
from the flat arguments a model sends. No Django, no network: the lookup API, the proxy and the
MCP gateway all read these objects.

Modules: names (tool and argument names), schemas (OpenAPI → JSON Schema → portable),
strict (OpenAI and Anthropic strict variants), canonical (build_toolset), render (formats),
references (x-dependent / x-lookup: what the marketplace resolves without the model).
"""

from plugins.tools.canonical import (
    Binding,
    Dependent,
    DisabledOperation,
    Lookup,
    Tool,
    ToolSet,
    build_toolset,
    security_parameter_names,
)
from plugins.tools.narrow import narrowed
from plugins.tools.render import DEFAULT_FORMAT, FORMATS, Renderer

__all__ = [
    "DEFAULT_FORMAT",
    "FORMATS",
    "Binding",
    "Dependent",
    "DisabledOperation",
    "Lookup",
    "Renderer",
    "Tool",
    "ToolSet",
    "build_toolset",
    "narrowed",
    "security_parameter_names",
]
