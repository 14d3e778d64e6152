"""Argument checking against the operation's schema, compiled once per version and operation."""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict

from django.conf import settings
from jsonschema import Draft202012Validator

from marketplace.parsers import _depth as json_depth
from plugins.proxy.errors import ProxyError
from plugins.tools import Tool

_COMPILED: OrderedDict[tuple, Draft202012Validator] = OrderedDict()
_MAX = 2048
_lock = threading.Lock()
MAX_VIOLATIONS = 50


def validator_for(key: tuple, tool: Tool) -> Draft202012Validator:
    with _lock:
        found = _COMPILED.get(key)
        if found is not None:
            _COMPILED.move_to_end(key)
            return found
    compiled = Draft202012Validator(tool.input_schema)
    with _lock:
        _COMPILED[key] = compiled
        while len(_COMPILED) > _MAX:
            _COMPILED.popitem(last=False)
    return compiled


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
    violations = []
    for error in validator_for(key, tool).iter_errors(arguments):
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
