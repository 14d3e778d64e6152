"""openapi-spec-validator (0.9), made unable to fetch anything (SECURITY.md pitfall 1).

The validator and prance resolve `$ref: "http://..."` and `"file:///..."` by default and echo
what they read. So: the document handed over is a copy in which every `$ref` not starting with
`#/` is removed (as are `$id` / `$schema` / `$dynamicRef`, which move the base URI), and the
resolver's handlers refuse every scheme - including the ones `jsonschema_path` would otherwise
pass to `urlopen` when no handler matches.

The library's `iter_errors` is memoised with an unbounded `lru_cache` keyed by the validator
instance (a leak in a long-running worker), so errors are drawn from its two sources directly.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from plugins.validation.refs import escape_token

MAX_REPORTED = 20
MAX_COUNTED = 200
_BASE_URI_KEYS = ("$id", "$schema", "$dynamicRef", "$dynamicAnchor", "$anchor")


class RetrievalRefused(Exception):
    """Raised by the handlers: the strict validator may not read any URI."""


def _refuse(uri: str) -> Any:
    raise RetrievalRefused("retrieval refused")


class RefuseAllHandlers(dict):
    """A handlers mapping that claims every scheme and refuses it."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str):
        return _refuse

    def get(self, key: str, default: Any = None):
        return _refuse


def local_only_copy(node: Any) -> Any:
    """A copy without any reference that could leave the document."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and not value.startswith("#/"):
                continue
            if key in _BASE_URI_KEYS and isinstance(value, str):
                continue
            out[key] = local_only_copy(value)
        return out
    if isinstance(node, list):
        return [local_only_copy(v) for v in node]
    return node


@dataclass(frozen=True)
class StrictError:
    pointer: str
    keyword: str
    message: str


@dataclass(frozen=True)
class StrictResult:
    errors: tuple[StrictError, ...]  # at most MAX_REPORTED
    total: int  # counted up to MAX_COUNTED
    aborted: str | None = None  # why validation stopped early, if it did


def _validator_class(version: str):
    from openapi_spec_validator.validation import (
        OpenAPIV30SpecValidator,
        OpenAPIV31SpecValidator,
        OpenAPIV32SpecValidator,
    )

    base = {
        "3.0": OpenAPIV30SpecValidator,
        "3.1": OpenAPIV31SpecValidator,
        "3.2": OpenAPIV32SpecValidator,
    }.get(version[:3], OpenAPIV31SpecValidator)
    return type(f"Offline{base.__name__}", (base,), {"resolver_handlers": RefuseAllHandlers()})


def _message(err: Exception) -> str:
    text = str(getattr(err, "message", err)).replace("\n", " ")
    return text if len(text) <= 160 else text[:157] + "..."


def _pointer(err: Exception) -> str:
    path = getattr(err, "absolute_path", None) or getattr(err, "path", None) or ()
    return "".join("/" + escape_token(p) for p in path)


def _errors(validator: Any) -> Iterator[Exception]:
    return itertools.chain(
        validator.schema_validator.iter_errors(validator.schema),
        validator.root_validator(validator.schema_path),
    )


_CACHE: OrderedDict[str, StrictResult] = OrderedDict()
_CACHE_SIZE = 64


def validate_strict(spec: dict, version: str) -> StrictResult:
    """Strict OpenAPI validation of `spec` (already repaired), with nothing fetched.

    It is most of a validation's cost (see `make bench`), so results are kept in a small LRU
    keyed by the document's hash: the re-run after the fetch stage bundles remote refs, and
    re-validations of an unchanged version, don't pay it twice."""
    key = (
        version
        + ":"
        + hashlib.sha256(
            json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
    )
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    result = _validate(spec, version)
    _CACHE[key] = result
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return result


def clear_cache() -> None:
    _CACHE.clear()


def _validate(spec: dict, version: str) -> StrictResult:
    validator = _validator_class(version)(local_only_copy(spec))
    errors: list[StrictError] = []
    total = 0
    iterator = _errors(validator)
    while total < MAX_COUNTED:
        try:
            err = next(iterator)
        except StopIteration:
            break
        except RetrievalRefused:
            return StrictResult(tuple(errors), total, "a reference needed a retrieval")
        except RecursionError:
            return StrictResult(tuple(errors), total, "the document nests too deeply")
        except Exception as exc:  # the library's own failures on odd documents
            return StrictResult(
                tuple(errors), total, f"the validator failed ({type(exc).__name__})"
            )
        total += 1
        if len(errors) < MAX_REPORTED:
            errors.append(
                StrictError(_pointer(err), str(getattr(err, "validator", "") or ""), _message(err))
            )
    return StrictResult(tuple(errors), total)
