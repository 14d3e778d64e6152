"""openapi-spec-validator (0.9), made unable to fetch anything (SECURITY.md pitfall 1).

The validator and prance resolve `$ref: "http://..."` and `"file:///..."` by default and echo
what they read. So: the document handed over is a copy in which every `$ref` not starting with
`#/` is removed (as are `$id` / `$schema` / `$dynamicRef`, which move the base URI), and the
resolver's handlers refuse every scheme - including the ones `jsonschema_path` would otherwise
pass to `urlopen` when no handler matches.

The library's `iter_errors` is memoised with an unbounded `lru_cache` keyed by the validator
instance (a leak in a long-running worker), so errors are drawn from its two sources directly.

Speed (it was 75-90% of a validation): the validator classes and the meta-schema validators are
built once per process, their references indexed once; and a compiled validator of the same
meta-schemas (jsonschema-rs, its retriever refusing every URI) answers first wherever its "no
error" is certain to be the pure-Python validator's too. Whenever there is something to report,
the pure-Python validator reports it, so the findings, messages and order are the library's.
tests/validation/corpus_findings.tsv holds the whole corpus to what it found before.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import math
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from plugins.validation.refs import escape_token
from plugins.validation.spec_keywords import keywords_hold

logger = logging.getLogger(__name__)

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


@functools.cache
def _validator_class(version: str):
    """The library's spec validator for `version`, offline, built once per process.

    Two things change against the stock class, neither what it finds: its meta-schema validator
    is always the pure-Python one (the library would switch to jsonschema-rs when installed,
    whose messages differ) and is built once with its references indexed (crawled) up front;
    and each schema object's meta-check reuses one prepared validator instead of building, and
    re-indexing, a new one per schema (see _CachedMetaChecks)."""
    from openapi_spec_validator.schemas import schema_v30, schema_v31, schema_v32
    from openapi_spec_validator.validation import (
        OpenAPIV30SpecValidator,
        OpenAPIV31SpecValidator,
        OpenAPIV32SpecValidator,
        keywords,
    )

    base, meta_schema, schema_keyword = {
        "3.0": (OpenAPIV30SpecValidator, schema_v30, keywords.OpenAPIV30SchemaValidator),
        "3.1": (OpenAPIV31SpecValidator, schema_v31, keywords.OpenAPIV31SchemaValidator),
        "3.2": (OpenAPIV32SpecValidator, schema_v32, keywords.OpenAPIV32SchemaValidator),
    }.get(version[:3], (OpenAPIV31SpecValidator, schema_v31, keywords.OpenAPIV31SchemaValidator))
    schema_checks = type(
        f"Cached{schema_keyword.__name__}", (_CachedMetaChecks, schema_keyword), {}
    )
    return type(
        f"Offline{base.__name__}",
        (base,),
        {
            "resolver_handlers": RefuseAllHandlers(),
            "openapi_version": version[:3],
            "schema_validator": _prepared_validator(dict(meta_schema)),
            "keyword_validators": {**base.keyword_validators, "schema": schema_checks},
        },
    )


def _prepared_validator(schema: dict, cls=None, **kwargs):
    """A jsonschema validator for `schema` whose reference registry is crawled once, not on
    every `$dynamicRef` lookup (the library's OAS 3.1 meta-schemas use them throughout)."""
    from jsonschema.validators import validator_for

    validator = (cls or validator_for(schema))(schema, **kwargs)
    try:  # private attributes of jsonschema and referencing: without them, just slower
        resolver = validator._resolver
        crawled = type(resolver)(base_uri=resolver._base_uri, registry=resolver._registry.crawl())
        return validator.evolve(_resolver=crawled)
    except (AttributeError, TypeError):
        logger.warning("jsonschema internals changed: meta-schema references not pre-indexed")
        return validator


class _CachedMetaChecks:
    """Mixin for the library's SchemaValidator keyword: check_schema with a validator prepared
    once per (schema class, format checker) instead of one built per schema object."""

    def _get_schema_checker(self, schema, schema_value):
        checker = super()._get_schema_checker(schema, schema_value)
        cls = getattr(checker, "func", checker).__self__
        format_checker = getattr(checker, "keywords", {}).get("format_checker", _UNSET)
        return _meta_checker(cls, format_checker)


_UNSET = object()


@functools.cache
def _meta_checker(cls, format_checker):
    """What openapi_schema_validator's check_openapi_schema does, with a reused validator, and
    with the compiled validator of the same meta-schema answering first where it can be sure:
    when it accepts a plain-JSON schema whose regular expressions Python compiles (the only
    format these meta-schemas assert), the pure-Python validator would accept it too."""
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for
    from openapi_schema_validator._specifications import REGISTRY

    if format_checker is _UNSET:
        format_checker = cls.FORMAT_CHECKER
    validator = _prepared_validator(
        cls.META_SCHEMA,
        validator_for(cls.META_SCHEMA, default=cls),
        format_checker=format_checker,
        registry=REGISTRY,
    )
    compiled = _compiled_schema_meta_validator(cls, format_checker)

    def check(schema) -> None:
        if compiled is not None and _is_plain_json(schema) and _regexes_compile(schema):
            try:
                if compiled.is_valid(schema):
                    return
            except Exception:  # noqa: S110 - the Python validator decides below
                pass
        for error in validator.iter_errors(schema):
            raise SchemaError.create_from(error)

    return check


def _compiled_schema_meta_validator(cls, format_checker):
    try:
        import jsonschema_rs
        from openapi_schema_validator._specifications import REGISTRY
    except ImportError:
        return None
    resources = [(uri, REGISTRY[uri].contents) for uri in REGISTRY]
    asserted = set(getattr(format_checker, "checkers", {})) if format_checker else set()
    used = set()
    for _, contents in [*resources, ("", cls.META_SCHEMA)]:
        used |= set(re.findall(r'"format":\s*"([^"]+)"', json.dumps(contents)))
    if (used & asserted) - {"regex"}:
        return None  # a format we don't mirror: no shortcut
    try:
        return jsonschema_rs.validator_for(
            cls.META_SCHEMA,
            validate_formats=False,
            retriever=_refuse_retrieval,
            registry=jsonschema_rs.Registry(resources),
        )
    except Exception:
        logger.warning("no compiled meta-schema validator for %s", cls.__name__, exc_info=True)
        return None


def _regexes_compile(schema: Any) -> bool:
    """Every `pattern` and `patternProperties` key in the schema is a Python regex (what the
    meta-schemas' `format: regex` asserts; checked wherever the words appear, to be safe)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            candidates = []
            if isinstance(node.get("pattern"), str):
                candidates.append(node["pattern"])
            if isinstance(node.get("patternProperties"), dict):
                candidates.extend(node["patternProperties"])
            for candidate in candidates:
                try:
                    re.compile(candidate)
                except (re.error, TypeError, OverflowError, RecursionError):
                    return False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


def _message(err: Exception) -> str:
    text = str(getattr(err, "message", err)).replace("\n", " ")
    return text if len(text) <= 160 else text[:157] + "..."


def _pointer(err: Exception) -> str:
    path = getattr(err, "absolute_path", None) or getattr(err, "path", None) or ()
    return "".join("/" + escape_token(p) for p in path)


def _errors(validator: Any) -> Iterator[Exception]:
    """The library's two sources of errors, in its order: the document against the OpenAPI
    meta-schema, then its own keyword checks. The first is skipped when a compiled validator of
    the same meta-schema finds nothing: it then has nothing to report (and when it does report,
    its messages are the pure-Python validator's, as before). The second is skipped when
    spec_keywords proves, on the plain document, that the library's keyword checks find nothing."""
    meta_errors = _meta_errors(validator)
    keyword_errors = (
        iter(()) if keywords_hold(validator) else validator.root_validator(validator.schema_path)
    )
    return itertools.chain(meta_errors, keyword_errors)


def _meta_errors(validator: Any) -> Iterator[Exception]:
    """The document's errors against the OpenAPI meta-schema: none when the compiled validator
    accepts a plain-JSON document, else the pure-Python validator's (pruned, see below)."""
    document, version = validator.schema, validator.openapi_version[:3]
    if not _is_plain_json(document):
        return validator.schema_validator.iter_errors(document)
    if _compiled_holds(_compiled_meta_validator(version), document):
        return iter(())
    pruned = _pruned_meta_validator(version)
    return (pruned or validator.schema_validator).iter_errors(document)


def _compiled_holds(compiled: Any, instance: Any) -> bool:
    if compiled is None:
        return False
    try:
        return bool(compiled.is_valid(instance))
    except Exception:  # a value it can't take: let the Python validator judge
        return False


@functools.cache
def _pruned_meta_validator(version: str):
    """The pure-Python OAS 3.0 meta-schema validator, except that it doesn't descend into a
    part of the document that the compiled validator of the definition it refers to accepts:
    such a part has no error to give, so the errors, their order and their messages are the
    same, and only the parts that hold errors are walked in Python. Only for 3.0, whose
    meta-schema (draft 4, every reference a `#/definitions/...`) means the same wherever a
    definition is used; 3.1's dynamic references depend on where they are reached from."""
    if version != "3.0":
        return None
    try:
        import jsonschema_rs
        from jsonschema.validators import extend, validator_for
        from openapi_spec_validator.schemas import schema_v30
    except ImportError:
        return None
    meta_schema = dict(schema_v30)
    base = validator_for(meta_schema)
    follow = base.VALIDATORS["$ref"]
    root = {key: meta_schema[key] for key in ("$schema", "id", "definitions")}

    @functools.cache
    def compiled_for(ref: str):
        if not ref.startswith("#/definitions/"):
            return None
        try:
            return jsonschema_rs.validator_for(
                {**root, "$ref": ref}, validate_formats=False, retriever=_refuse_retrieval
            )
        except Exception:
            logger.warning("no compiled validator for %s", ref, exc_info=True)
            return None

    def ref(validator, ref, instance, schema):
        if isinstance(ref, str) and _compiled_holds(compiled_for(ref), instance):
            return
        yield from follow(validator, ref, instance, schema)

    return _prepared_validator(meta_schema, extend(base, {"$ref": ref}))


def _refuse_retrieval(uri: str) -> Any:
    raise RetrievalRefused("retrieval refused")


@functools.cache
def _compiled_meta_validator(version: str):
    try:
        import jsonschema_rs
        from openapi_spec_validator.schemas import schema_v30, schema_v31, schema_v32
    except ImportError:
        return None
    meta_schema = {"3.0": schema_v30, "3.1": schema_v31, "3.2": schema_v32}.get(version, schema_v31)
    try:
        # Formats are not asserted, as the library's meta-schema validator doesn't assert them.
        return jsonschema_rs.validator_for(
            dict(meta_schema), validate_formats=False, retriever=_refuse_retrieval
        )
    except Exception:
        logger.warning("no compiled meta-schema validator for OpenAPI %s", version, exc_info=True)
        return None


_JSON_SCALARS = (str, int, float, bool, type(None))


def _is_plain_json(node: Any) -> bool:
    """Only str-keyed dicts, lists and JSON scalars (YAML can give dates, int keys, ...)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if type(key) is not str:
                    return False
                if not isinstance(value, _JSON_SCALARS) or type(value) is float:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(v for v in item if not isinstance(v, _JSON_SCALARS) or type(v) is float)
        elif type(item) is float:
            if not math.isfinite(item):  # NaN and infinities are no JSON
                return False
        elif not isinstance(item, _JSON_SCALARS):
            return False
    return True


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
