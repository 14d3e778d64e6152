"""The strict validator's shortcuts never hide what openapi-spec-validator finds.

spec_keywords may say "the library's keyword checks find nothing" only when they do; the pruned
OAS 3.0 meta-schema validator gives the stock validator's errors, in its order. (The whole
corpus is held to the findings it had before: test_corpus.py.)"""

from __future__ import annotations

import copy

import pytest

from plugins.validation import spec_validator
from plugins.validation.spec_keywords import keywords_hold
from tests.validation.helpers import operation, spec


def _validator(doc: dict):
    version = doc["openapi"]
    return spec_validator._validator_class(version)(spec_validator.local_only_copy(doc))


def _library_keyword_errors(doc: dict) -> list[str]:
    validator = _validator(doc)
    try:
        return [str(e) for e in validator.root_validator(validator.schema_path)]
    except Exception as exc:  # the library gives up: that is reported too
        return [f"raised {type(exc).__name__}"]


def _with_schema(schema: dict) -> dict:
    return spec(components={"schemas": {"Todos": schema}})


KEYWORD_PROBLEMS = {
    "duplicate operationId": spec(
        paths={"/a": {"get": operation()}, "/b": {"get": operation()}},
    ),
    "path parameter not declared": spec(paths={"/todos/{id}": {"get": operation()}}),
    "declared path parameter not in the URL": spec(
        paths={
            "/todos": {
                "get": operation(
                    parameters=[
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ]
                )
            }
        }
    ),
    "duplicate parameter": spec(
        paths={
            "/todos": {
                "get": operation(
                    parameters=[
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                    ]
                )
            }
        }
    ),
    "allOf requires an undefined property": _with_schema(
        {
            "allOf": [{"type": "object", "properties": {"a": {"type": "string"}}}],
            "required": ["a", "b"],
        }
    ),
    "default of the wrong type": _with_schema({"type": "integer", "default": "ten"}),
    "default breaking its format": _with_schema(
        {"type": "string", "format": "date", "default": "not a date"}
    ),
    "schema against its meta-schema": _with_schema({"type": "array", "items": "string"}),
    "nested default of the wrong type": _with_schema(
        {"type": "object", "properties": {"n": {"type": "integer", "default": []}}}
    ),
    "reference to nothing": _with_schema({"$ref": "#/components/schemas/Missing"}),
    "duplicate tag": spec(tags=[{"name": "todo"}, {"name": "todo"}]),
}


@pytest.mark.parametrize("version", ["3.0.1", "3.1.0"])
@pytest.mark.parametrize("problem", sorted(KEYWORD_PROBLEMS))
def test_the_keyword_proof_fails_wherever_the_library_finds_something(problem, version):
    doc = copy.deepcopy(KEYWORD_PROBLEMS[problem])
    doc["openapi"] = version
    found = _library_keyword_errors(doc)
    if not found:
        pytest.fail(f"the library finds nothing for {problem!r} in {version}: a useless case")
    assert keywords_hold(_validator(doc)) is False


@pytest.mark.parametrize("version", ["3.0.1", "3.1.0"])
def test_the_keyword_proof_holds_for_a_clean_document_with_references_and_defaults(version):
    doc = _with_schema(
        {
            "allOf": [{"$ref": "#/components/schemas/Base"}],
            "required": ["id"],
            "properties": {"limit": {"type": "integer", "default": 10}},
        }
    )
    doc["components"]["schemas"]["Base"] = {
        "type": "object",
        "properties": {"id": {"type": "string"}},
    }
    path_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    doc["paths"]["/todos/{id}"] = {
        "parameters": [path_id],
        "get": operation(operationId="getTodo"),
    }
    doc["openapi"] = version
    assert _library_keyword_errors(doc) == []
    assert keywords_hold(_validator(doc)) is True


def test_the_pruned_meta_schema_validator_gives_the_stock_errors_in_the_stock_order():
    doc = spec(
        info={"title": "No version"},
        paths={
            "/todos": {
                "get": operation(
                    parameters=[{"name": "q", "in": "body", "schema": {"type": "string"}}],
                    responses={"200": {"content": {}}},
                )
            },
            "/fine": {"get": operation(operationId="fine")},
            "no-slash": {},
        },
    )
    doc["components"]["schemas"]["Bad"] = {"type": "array", "items": "string", "nullable": "yes"}
    stock = _validator(doc).schema_validator
    pruned = spec_validator._pruned_meta_validator("3.0")
    assert pruned is not None

    def errors(validator):
        return [(list(e.absolute_path), e.validator, e.message) for e in validator.iter_errors(doc)]

    expected = errors(stock)
    assert len(expected) >= 4
    assert errors(pruned) == expected
