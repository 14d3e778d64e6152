"""Names every vendor accepts: tool names and argument (property) names.

Tool names follow the portable rule `^[a-zA-Z][a-zA-Z0-9_]{0,63}$` (TOOLS.md): `plugin__operation`,
cut with a short hash when too long and de-duplicated. Argument names follow
`^[a-zA-Z_][a-zA-Z0-9_]{0,63}$`; anything else is renamed and the binding map keeps the real name.
"""

from __future__ import annotations

import hashlib
import re

TOOL_NAME_MAX = 64
ARGUMENT_NAME_MAX = 64
TOOL_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,63}$")
ARGUMENT_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$")
_INVALID = re.compile(r"[^a-zA-Z0-9_]+")


def short_hash(text: str, length: int = 6) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _cleaned(text: str) -> str:
    return _INVALID.sub("_", text).strip("_")


def _fit(name: str, original: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    suffix = "_" + short_hash(original)
    return name[: limit - len(suffix)].rstrip("_") + suffix


def tool_name(plugin: str, operation: str, taken: set[str]) -> str:
    """`plugin__operation` made valid, at most 64 characters and not in `taken` (then added)."""
    plugin_part = _cleaned(plugin) or "plugin"
    if not plugin_part[0].isalpha():
        plugin_part = "p" + plugin_part
    operation_part = _cleaned(operation) or "operation"
    original = f"{plugin}__{operation}"
    name = _fit(f"{plugin_part}__{operation_part}", original, TOOL_NAME_MAX)
    name = _unique(name, original, taken, TOOL_NAME_MAX)
    assert TOOL_NAME.match(name), name
    return name


def argument_name(name: str, taken: set[str], *, prefix: str = "") -> str:
    """A valid argument name for `name` (a parameter or property name), not in `taken`.

    `prefix` (e.g. "query") is prepended only when the plain name is already taken, so path,
    query and body fields with the same name stay distinct.
    """
    candidate = _cleaned(name) or "value"
    if candidate[0].isdigit():
        candidate = "_" + candidate
    candidate = _fit(candidate, name, ARGUMENT_NAME_MAX)
    if candidate in taken and prefix:
        candidate = _fit(f"{prefix}_{candidate}", f"{prefix}:{name}", ARGUMENT_NAME_MAX)
    candidate = _unique(candidate, name, taken, ARGUMENT_NAME_MAX)
    assert ARGUMENT_NAME.match(candidate), candidate
    return candidate


def _unique(name: str, original: str, taken: set[str], limit: int) -> str:
    candidate, counter = name, 1
    while candidate in taken:
        counter += 1
        suffix = f"_{counter}"
        candidate = name[: limit - len(suffix)] + suffix
    taken.add(candidate)
    return candidate
