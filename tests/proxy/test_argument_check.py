"""The argument check: jsonschema's verdict, whichever validator answers first.

A compiled validator (jsonschema_rs) may only say "valid" before jsonschema walks the schema
(plugins/proxy/arguments.py). These tests hold the check to what jsonschema alone says, on
hostile arguments: the same 422 (every violation, the same JSON pointers, the same count and
messages), and never "valid" where jsonschema finds a violation.
"""

from __future__ import annotations

import dataclasses
import itertools

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugins.proxy.arguments import (
    MAX_VIOLATIONS,
    _message,
    _pointer,
    check_arguments,
    validators_for,
)
from plugins.proxy.errors import ProxyError
from tests.tools.specs import data_plugin_spec
from tests.tools.test_build_toolset import toolset_for

_keys = itertools.count()

SQL_TOOL = next(
    t for t in toolset_for(data_plugin_spec()).tools if t.operation == "querySqlDatabase"
)

# Every keyword the compiled validator may answer for, nested, with the values where
# implementations part ways: integers against floats, booleans against numbers, code points.
EVERY_SHARED_KEYWORD = {
    "type": "object",
    "required": ["database", "count"],
    "additionalProperties": False,
    "minProperties": 2,
    "maxProperties": 6,
    "properties": {
        "database": {
            "type": "string",
            "enum": ["sales", "finance", "é"],
            "x-marketplace-resource": "database",
        },
        "count": {"type": "integer", "minimum": 1, "exclusiveMaximum": 9007199254740993},
        "ratio": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 0.5},
        "flag": {"const": True},
        "one": {"enum": [1, "1", None, [1, {"a": 1}]]},
        "name": {"type": "string", "minLength": 2, "maxLength": 3, "format": "email"},
        "tags": {
            "type": "array",
            "minItems": 1,
            "maxItems": 3,
            "items": {"type": "string", "maxLength": 4},
        },
        "filter": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "properties": {"zero": {"const": 0}},
        },
        "choice": {
            "anyOf": [{"type": "string"}, {"type": "integer", "maximum": 5}],
            "oneOf": [{"type": "string", "maxLength": 1}, {"type": "integer"}, {"minLength": 3}],
            "allOf": [{"not": {"const": "x"}}, True],
        },
    },
}
# Keywords jsonschema alone judges (the compiled validator stays out of these).
JUDGED_BY_JSONSCHEMA_ONLY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "code": {"type": "string", "pattern": "^[a-z]+$"},
        "step": {"type": "number", "multipleOf": 0.1},
        "ids": {"type": "array", "uniqueItems": True},
        "name": {"type": "string", "minLength": 2},
    },
}

NAMES = ["database", "count", "ratio", "flag", "one", "name", "tags", "filter", "choice"]
NAMES += ["zero", "code", "step", "ids", "limit", "question", "a", "Database", "database "]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, -1, 5, 6, 2**53, 2**53 + 1, 9007199254740993, 10**30, -(10**30)]),
    st.integers(),
    st.sampled_from([0.0, 1.0, 0.5, 0.30000000000000004, 0.3, 5.0, 1e-300, 1e300, -0.0]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "sales",
            "SALES",
            "\uff53\uff41\uff4c\uff45\uff53",
            "é",
            "e\u0301",
            "😀😀",
            "\ud800",
            "x",
            "ab\n",
            "",
        ]
    ),
    st.text(max_size=6),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=3), inner, max_size=4),
    ),
    max_leaves=12,
)
arbitrary = st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=4), values, max_size=7)
# Close to valid for EVERY_SHARED_KEYWORD, so that the compiled validator says "valid" often.
almost_valid = st.fixed_dictionaries(
    {
        "database": st.sampled_from(["sales", "é", "e\u0301", "SALES", "\ud800"]),
        "count": st.sampled_from([1, 1.0, True, 0, 2**53, 9007199254740992.0, 9007199254740993]),
    },
    optional={
        "ratio": st.sampled_from([None, 0, 0.0, 1e-300, 0.5, 0.5000000000000001, 1, False]),
        "flag": st.sampled_from([True, 1, 1.0, "true"]),
        "one": st.sampled_from([1, 1.0, True, "1", None, [1, {"a": 1}], [1.0, {"a": 1.0}], [True]]),
        "name": st.sampled_from(["ab", "abc", "abcd", "😀😀", "e\u0301", "a", "not an email"]),
        "tags": st.lists(st.sampled_from(["a", "abcd", "abcde", "😀😀😀😀", 1, None]), max_size=4),
        "filter": st.dictionaries(
            st.sampled_from(["zero", "a", ""]),
            st.sampled_from([0, 0.0, False, 1, 1.5, -(10**30), "0"]),
            max_size=3,
        ),
        "choice": st.sampled_from(["", "a", "ab", "abc", "x", 5, 5.0, 6, True, None, [], {}]),
        "extra": st.just(1),
    },
)
arguments = arbitrary | almost_valid


def tool_with(schema: dict):
    return dataclasses.replace(SQL_TOOL, input_schema=schema)


def jsonschema_alone(schema: dict, args: dict) -> list[dict] | None:
    """The violations jsonschema alone reports, as the 422 lists them (None: valid)."""
    violations = []
    for error in jsonschema.Draft202012Validator(schema).iter_errors(args):
        violations.append({"pointer": _pointer(error.absolute_path), "message": _message(error)})
        if len(violations) >= MAX_VIOLATIONS:
            break
    return sorted(violations, key=lambda v: v["pointer"]) or None


def checked(tool, args: dict) -> list[dict] | None:
    """The violations of the 422 check_arguments raises (None: the arguments hold)."""
    try:
        check_arguments(("test", next(_keys)), tool, args)
    except ProxyError as exc:
        return exc.details["violations"] if exc.status == 422 else [{"status": exc.status}]
    return None


@pytest.mark.parametrize(
    "schema", [SQL_TOOL.input_schema, EVERY_SHARED_KEYWORD, JUDGED_BY_JSONSCHEMA_ONLY]
)
@settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(args=arguments)
def test_it_gives_jsonschemas_verdict_on_hostile_arguments(schema, args):
    assert checked(tool_with(schema), args) == jsonschema_alone(schema, args)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(args=arguments)
def test_the_compiled_validator_never_passes_what_jsonschema_refuses(args):
    compiled = jsonschema_rs.Draft202012Validator(EVERY_SHARED_KEYWORD, validate_formats=False)
    try:
        passed = compiled.is_valid(args)
    except Exception:  # a value it can't take: the check falls back to jsonschema
        return
    if passed:
        assert jsonschema_alone(EVERY_SHARED_KEYWORD, args) is None


def test_the_compiled_validator_answers_for_the_shared_keywords_only():
    assert validators_for(("test", "sql"), SQL_TOOL).fast is not None
    assert validators_for(("test", "all"), tool_with(EVERY_SHARED_KEYWORD)).fast is not None
    for keyword, value in [
        ("pattern", "^a$"),
        ("multipleOf", 0.1),
        ("uniqueItems", True),
        ("$ref", "#/$defs/x"),
        ("patternProperties", {"^a": {}}),
    ]:
        schema = {"type": "object", "properties": {"x": {keyword: value}}}
        assert validators_for(("test", keyword), tool_with(schema)).fast is None, keyword


def test_a_422_lists_every_violation_with_its_pointer():
    violations = checked(
        tool_with(EVERY_SHARED_KEYWORD),
        {"count": 1.5, "ratio": 0.6, "flag": 1, "tags": ["toolong", 3], "extra": "x"},
    )
    assert [v["pointer"] for v in violations] == [
        "",  # `database` missing
        "",  # `extra` unknown
        "/count",
        "/flag",
        "/ratio",
        "/tags/0",
        "/tags/1",
    ]
    assert "Unknown argument(s): 'extra'" in [v["message"] for v in violations]
