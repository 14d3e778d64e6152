"""Argument checking against the operation's schema, compiled once per version and operation.

jsonschema (Draft 2020-12, formats not asserted) is the judge: it writes every 422, each
violation with its JSON pointer. A compiled validator of the same schema (jsonschema_rs, some
0.3 µs a call against 10-40 µs) answers first, and only ever to say "valid", so a call whose
arguments hold goes on without walking the schema in Python; whenever it finds a problem, or
can't take a value (a lone surrogate), jsonschema checks the arguments from scratch and decides.
It answers only for schemas built from the keywords below, whose meaning the two share on JSON
values (numbers compared exactly, 1 == 1.0, true != 1, lengths in code points); a schema with
any other keyword (`pattern`: Python's regular expressions are not the Rust crate's;
`multipleOf`: float arithmetic; `uniqueItems`, `$ref`, ...) is checked by jsonschema alone.
tests/proxy/test_argument_check.py holds the two to the same verdicts on hostile arguments.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
from django.conf import settings
from jsonschema import Draft202012Validator

from marketplace.parsers import _depth as json_depth
from plugins.proxy.errors import ProxyError
from plugins.tools import Tool

_MAX = 2048
_lock = threading.Lock()
MAX_VIOLATIONS = 50

# Keywords whose value is a subschema, a map of subschemas, or a list of subschemas.
_SUBSCHEMA = frozenset({"items", "not", "additionalProperties"})
_SUBSCHEMA_MAP = frozenset({"properties"})
_SUBSCHEMA_LIST = frozenset({"allOf", "anyOf", "oneOf"})
# Keywords that check a value, the same way in both validators.
_SHARED_CHECKS = frozenset(
    {
        "type",
        "required",
        "enum",
        "const",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
    }
)
# Keywords that check nothing in either (annotations; `format` is not asserted by either).
_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "default",
        "examples",
        "example",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "$comment",
        "contentMediaType",
        "contentEncoding",
    }
)


@dataclass(frozen=True)
class _Validators:
    judge: Draft202012Validator
    fast: Any = None  # a jsonschema_rs validator, for schemas of shared keywords only

    def holds(self, arguments: object) -> bool:
        """True only when the compiled validator accepts the arguments (see the module)."""
        if self.fast is None:
            return False
        try:
            return self.fast.is_valid(arguments)
        except Exception:  # a value it can't take: jsonschema judges
            return False


_COMPILED: OrderedDict[tuple, _Validators] = OrderedDict()


def validators_for(key: tuple, tool: Tool) -> _Validators:
    with _lock:
        found = _COMPILED.get(key)
        if found is not None:
            _COMPILED.move_to_end(key)
            return found
    compiled = _Validators(
        judge=Draft202012Validator(tool.input_schema), fast=_fast_validator(tool.input_schema)
    )
    with _lock:
        _COMPILED[key] = compiled
        while len(_COMPILED) > _MAX:
            _COMPILED.popitem(last=False)
    return compiled


def _fast_validator(schema: object):
    if not _shared_keywords_only(schema):
        return None
    try:
        return jsonschema_rs.Draft202012Validator(schema, validate_formats=False)
    except Exception:  # a schema it refuses: jsonschema alone
        return None


def _shared_keywords_only(schema: object) -> bool:
    """Every keyword of every subschema is one both validators read the same way (or an
    annotation, or an `x-` extension, which both ignore)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, bool):
            continue
        if not isinstance(node, dict):
            return False
        for keyword, value in node.items():
            if keyword in _SUBSCHEMA:
                stack.append(value)
            elif keyword in _SUBSCHEMA_MAP:
                if not isinstance(value, dict):
                    return False
                stack.extend(value.values())
            elif keyword in _SUBSCHEMA_LIST:
                if not isinstance(value, list):
                    return False
                stack.extend(value)
            elif not (
                keyword in _SHARED_CHECKS
                or keyword in _ANNOTATIONS
                or (isinstance(keyword, str) and keyword.startswith("x-"))
            ):
                return False
    return True


def check_arguments(key: tuple, tool: Tool, arguments: object) -> None:
    """ProxyError 422 listing every violation with its JSON pointer (RFC 6901)."""
    if not isinstance(arguments, dict):
        raise ProxyError(
            422,
            "proxy.invalid_arguments",
            "The arguments must be an object.",
            decision="invalid",
            details={"violations": [{"pointer": "", "message": "Expected an object."}]},
        )
    validators = validators_for(key, tool)
    if validators.holds(arguments):
        return
    violations = []
    for error in validators.judge.iter_errors(arguments):
        violations.append({"pointer": _pointer(error.absolute_path), "message": _message(error)})
        if len(violations) >= MAX_VIOLATIONS:
            break
    if violations:
        violations.sort(key=lambda v: v["pointer"])
        raise ProxyError(
            422,
            "proxy.invalid_arguments",
            "The arguments do not match the operation.",
            decision="invalid",
            details={"violations": violations},
        )


def _pointer(path) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _message(error) -> str:
    """The validator's message without echoing long values back."""
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return "Unknown argument(s): " + ", ".join(repr(e)[:64] for e in extra)
    text = error.message
    return text if len(text) <= 300 else text[:297] + "..."


def parse_arguments(raw: bytes) -> object:
    """The request body's `arguments`, refusing duplicate keys anywhere (a repeated key is
    a way to slip a second value past a check that reads the first)."""

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate key")
        return dict(pairs)

    def refuse_constant(name):
        raise ValueError(name)

    def finite(text):
        number = float(text)
        if math.isinf(number):  # 1e999: JSON has no infinity to send it on as
            raise ValueError(text)
        return number

    try:
        parsed = json.loads(
            raw or b"{}",
            object_pairs_hook=no_duplicates,
            parse_constant=refuse_constant,
            parse_float=finite,
        )
        if json_depth(parsed) > settings.MARKETPLACE_MAX_JSON_DEPTH:
            raise ValueError("too deep")
    except (ValueError, RecursionError):
        raise ProxyError(
            400,
            "proxy.invalid_body",
            "The body must be a JSON object without repeated keys, nested at most "
            f"{settings.MARKETPLACE_MAX_JSON_DEPTH} levels.",
            decision="invalid",
        ) from None
    return parsed
