"""Repair stage, first steps: a JSON-clean working copy, the `openapi` version, the size bound."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

from plugins.validation.context import Context
from plugins.validation.datatypes import Severity
from plugins.validation.refs import escape_token
from plugins.validation.registry import CheckStage, Emit, register
from plugins.validation.walk import count_operations

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741

MAX_OPERATIONS = 2_000
MAX_COPY_DEPTH = 256
KNOWN_VERSIONS = frozenset(
    {"3.0.0", "3.0.1", "3.0.2", "3.0.3", "3.0.4", "3.1.0", "3.1.1", "3.1.2", "3.2.0"}
)
_VERSION = re.compile(r"^3\.(\d+)(?:\.(\d+))?$")


class _Copier:
    """A deep copy with JSON types only: keys become strings, dates ISO strings, NaN None."""

    def __init__(self) -> None:
        self.key_pointers: list[str] = []
        self.value_pointers: list[str] = []
        self.too_deep = False

    def copy(self, node: Any, where: str = "", depth: int = 0) -> Any:
        if depth > MAX_COPY_DEPTH:
            self.too_deep = True
            return None
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if not isinstance(key, str):
                    self.key_pointers.append(where + "/" + escape_token(key))
                    key = _json_key(key)
                out[key] = self.copy(value, where + "/" + escape_token(key), depth + 1)
            return out
        if isinstance(node, list | tuple):
            return [self.copy(v, f"{where}/{i}", depth + 1) for i, v in enumerate(node)]
        if node is None or isinstance(node, str | bool | int):
            return node
        if isinstance(node, float):
            if math.isfinite(node):
                return node
            self.value_pointers.append(where)
            return None
        self.value_pointers.append(where)
        if isinstance(node, dt.date | dt.datetime):
            return node.isoformat()
        if isinstance(node, bytes):
            return node.decode("utf-8", "replace")
        return str(node)


def _json_key(key: Any) -> str:
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, dt.date | dt.datetime):
        return key.isoformat()
    return str(key)


@register(
    "openapi.json_types",
    stage=CheckStage.REPAIR,
    codes={"openapi.keys.non_string": W, "openapi.values.non_json": W, "openapi.too_deep": E},
    order=10,
)
def copy_as_json(ctx: Context, emit: Emit) -> None:
    """Make the working copy: YAML keys like `200:` become "200", dates become strings."""
    if not isinstance(ctx.spec_raw, dict):
        return
    try:  # parse_document already returns JSON types: a C-speed round trip is the copy
        ctx.spec = json.loads(json.dumps(ctx.spec_raw, allow_nan=False))
        return  # parse_document bounds nesting (200) below MAX_COPY_DEPTH
    except (TypeError, ValueError, RecursionError):
        pass
    copier = _Copier()
    ctx.spec = copier.copy(ctx.spec_raw)
    if copier.too_deep:
        emit("openapi.too_deep", "", f"The document nests deeper than {MAX_COPY_DEPTH} levels.")
        ctx.spec = None
        return
    for where in copier.key_pointers:
        emit(
            "openapi.keys.non_string",
            where,
            "A mapping key is not a string (YAML read it as a number or a date); it was quoted.",
            hint="Quote keys such as response codes in YAML: '200':",
        )
    for where in copier.value_pointers:
        emit(
            "openapi.values.non_json",
            where,
            "A value is not a JSON type (YAML read it as a date or similar); it was made a string.",
        )


@register(
    "openapi.version",
    stage=CheckStage.REPAIR,
    codes={
        "openapi.version.missing": E,
        "openapi.version.unsupported": E,
        "openapi.version.numeric": W,
        "openapi.version.nonstandard": W,
        "openapi.version.unknown": I,
        "openapi.paths.missing": E,
    },
    order=20,
)
def check_version(ctx: Context, emit: Emit) -> None:
    """An OpenAPI 3 document with `paths`; numeric and quoted versions are repaired."""
    spec = ctx.spec
    if spec is None:
        return
    version = spec.get("openapi")
    if version is None:
        if "swagger" in spec:
            emit(
                "openapi.version.unsupported",
                "/swagger",
                "This is a Swagger 2 document; plugins need OpenAPI 3.",
                hint="Convert it to OpenAPI 3 (e.g. with swagger2openapi).",
            )
        else:
            emit(
                "openapi.version.missing",
                "",
                "This is not an OpenAPI document: it has no `openapi` version field.",
                hint="The plugin's api.url must serve its OpenAPI 3 document.",
            )
        ctx.spec = None
        return
    text = version
    if isinstance(version, bool) or not isinstance(version, str | int | float):
        text = None
    elif isinstance(version, int | float):
        text = str(version)
        emit(
            "openapi.version.numeric",
            "/openapi",
            "The `openapi` version is a number, not a string; it was made a string.",
            hint="Quote it in YAML: openapi: '3.1.0'.",
        )
    elif version.strip().strip("'\"").strip() != version:
        text = version.strip().strip("'\"").strip()
        emit(
            "openapi.version.nonstandard",
            "/openapi",
            "The `openapi` version has quotes or spaces inside the value; they were removed.",
        )
    match = _VERSION.match(text or "")
    if match is None:
        emit(
            "openapi.version.unsupported",
            "/openapi",
            "Only OpenAPI 3 documents are supported.",
            hint="Set `openapi` to a 3.x version such as '3.0.3' or '3.1.0'.",
        )
        ctx.spec = None
        return
    if match.group(2) is None:
        text = f"{text}.0"
        if isinstance(version, str):
            emit(
                "openapi.version.nonstandard",
                "/openapi",
                "The `openapi` version has no patch number; '.0' was added.",
            )
    if text not in KNOWN_VERSIONS:
        emit(
            "openapi.version.unknown",
            "/openapi",
            f"OpenAPI {text} is not a published version; it is read as OpenAPI 3.{match.group(1)}.",
        )
    spec["openapi"] = text
    ctx.openapi_version = text
    if not isinstance(spec.get("paths"), dict):
        emit("openapi.paths.missing", "/paths", "The document has no `paths` mapping.")
        ctx.spec = None


@register(
    "openapi.operations.count",
    stage=CheckStage.REPAIR,
    codes={"openapi.operations.too_many": E},
    order=30,
)
def check_operation_count(ctx: Context, emit: Emit) -> None:
    """Bound the work: a spec with more than MAX_OPERATIONS operations is refused early."""
    if ctx.spec is None:
        return
    count = count_operations(ctx.spec)
    if count > MAX_OPERATIONS:
        emit(
            "openapi.operations.too_many",
            "/paths",
            f"The document has {count} operations; plugins may have at most {MAX_OPERATIONS}.",
            hint="Split the API into several plugins, or describe only what the model needs.",
        )
        ctx.halted = True
