"""A tool as one user sees it: guarded arguments narrowed to the values that user may use."""

from __future__ import annotations

import copy
import dataclasses

from plugins.tools import strict
from plugins.tools.canonical import Tool


def narrowed(tool: Tool, allowed: dict[str, list[str]]) -> Tool:
    """`tool` with each guarded argument in `allowed` offered as an enum of its allowed values.

    The model then can't even propose another value; the proxy still checks every call.
    """
    if not allowed:
        return tool
    parameters = copy.deepcopy(tool.parameters)
    for arg, values in allowed.items():
        prop = parameters.get("properties", {}).get(arg)
        if prop is None:
            continue
        prop["enum"] = sorted(set(values))
        if prop.get("type") in (None, "string"):
            prop["type"] = "string"
    openai_schema, openai_reason = strict.openai_strict(parameters)
    anthropic_schema, anthropic_reason, counts = strict.anthropic_strict(parameters)
    return dataclasses.replace(
        tool,
        parameters=parameters,
        openai_strict=openai_schema,
        openai_strict_reason=openai_reason,
        anthropic_strict=anthropic_schema,
        anthropic_strict_reason=anthropic_reason,
        anthropic_counts=counts,
    )
