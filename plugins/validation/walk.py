"""Walking an OpenAPI document's operations (the repaired working copy, or a raw one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from plugins.validation.refs import pointer

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def iter_operations(spec: Any) -> Iterator[tuple[str, str, dict, str]]:
    """(path, method, operation, pointer) for every operation object, in document order."""
    paths = spec.get("paths") if isinstance(spec, dict) else None
    if not isinstance(paths, dict):
        return
    for path, item in paths.items():
        if not isinstance(item, dict):
            continue
        for method, operation in item.items():
            if method in HTTP_METHODS and isinstance(operation, dict):
                yield str(path), method, operation, pointer("paths", path, method)


def count_operations(spec: Any) -> int:
    paths = spec.get("paths") if isinstance(spec, dict) else None
    if not isinstance(paths, dict):
        return 0
    return sum(
        1
        for item in paths.values()
        if isinstance(item, dict)
        for method in item
        if method in HTTP_METHODS
    )


def as_list(value: Any) -> list:
    """`value` if it is a list, else an empty list (sloppy specs put anything anywhere)."""
    return value if isinstance(value, list) else []
