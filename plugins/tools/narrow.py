"""A tool as one user sees it: guarded arguments narrowed to the values that user may use."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections import OrderedDict

from plugins.tools import strict
from plugins.tools.canonical import Tool

_CACHE: OrderedDict[tuple, tuple[Tool, Tool]] = OrderedDict()
_CACHE_MAX = 4096
_lock = threading.Lock()


def narrowed(tool: Tool, allowed: dict[str, list[str]]) -> Tool:
    """`narrow` with a cache keyed by the tool object and the values (tools are built once per
    version and shared, so the lookup API doesn't redo this for every plugin on every call)."""
    if not allowed:
        return tool
    key = (id(tool), tuple(sorted((arg, tuple(sorted(v))) for arg, v in allowed.items())))
    with _lock:
        hit = _CACHE.get(key)
        if hit is not None and hit[0] is tool:
            _CACHE.move_to_end(key)
            return hit[1]
    result = narrow(tool, allowed)
    with _lock:
        _CACHE[key] = (tool, result)
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    return result


def narrow(tool: Tool, allowed: dict[str, list[str]]) -> Tool:
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
    return dataclasses.replace(tool, parameters=parameters, **strict.variants(parameters))
