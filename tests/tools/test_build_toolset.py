"""Canonical tool definitions: flat arguments, bindings, names, schemas, strict variants."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from plugins.tools import build_toolset, narrowed, security_parameter_names
from plugins.tools.names import ARGUMENT_NAME, TOOL_NAME, tool_name
from tests.tools.specs import data_plugin_spec, normalized


def toolset_for(spec_doc: dict, **manifest_overrides):
    return build_toolset(
        normalized(spec_doc, **manifest_overrides),
        security_names=security_parameter_names(spec_doc),
    )


def test_it_makes_one_tool_per_operation_named_plugin__operation():
    toolset = toolset_for(data_plugin_spec())
    assert [t.name for t in toolset.tools] == [
        "data__querySqlDatabase",
        "data__queryCosmosDb",
        "data__listTables",
    ]
    assert toolset.disabled == ()


def test_it_lifts_body_fields_beside_path_and_query_parameters_with_bindings():
    toolset = toolset_for(data_plugin_spec())
    query = toolset.tool("querySqlDatabase")
    assert set(query.parameters["properties"]) == {"database", "question", "limit"}
    assert query.parameters["required"] == ["database", "question"]
    assert query.bindings["database"].location == "body"
    assert query.resources == {"database": "database"}
    cosmos = toolset.tool("queryCosmosDb")
    assert cosmos.bindings["container"].location == "path"
    assert cosmos.bindings["question"].location == "query"
    assert cosmos.resources == {"container": "container"}


def test_it_moves_keywords_outside_the_portable_set_into_the_description():
    query = toolset_for(data_plugin_spec()).tool("querySqlDatabase")
    question = query.parameters["properties"]["question"]
    assert "minLength" not in question
    assert "minLength: 3" in question["description"]
    # ...while the checking schema keeps them
    assert query.input_schema["properties"]["question"]["minLength"] == 3
    assert query.input_schema["additionalProperties"] is False


def test_it_renames_invalid_and_clashing_names_and_keeps_the_real_ones_in_bindings():
    spec_doc = data_plugin_spec()
    spec_doc["paths"]["/items/{id}"] = {
        "put": {
            "operationId": "update-item.v2",
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "id", "in": "query", "schema": {"type": "string"}},
                {"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}},
                {"name": "Authorization", "in": "header", "schema": {"type": "string"}},
                {"name": "X-Api-Key", "in": "header", "schema": {"type": "string"}},
                {"name": "1st", "in": "query", "schema": {"type": "string"}},
            ],
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "created": {"type": "string", "readOnly": True},
                            },
                        }
                    }
                }
            },
            "responses": {"200": {"description": "OK"}},
        }
    }
    tool = toolset_for(spec_doc).tools[-1]
    assert tool.name == "data__update_item_v2"
    where = {arg: (b.location, b.name) for arg, b in tool.bindings.items()}
    assert where == {
        "id": ("path", "id"),
        "query_id": ("query", "id"),
        "X_Request_Id": ("header", "X-Request-Id"),
        "_1st": ("query", "1st"),
        "body_id": ("body", "id"),
    }
    # credentials never become arguments; readOnly body fields are not inputs
    assert all(ARGUMENT_NAME.match(arg) for arg in tool.parameters["properties"])


def test_it_wraps_array_bodies_under_one_argument():
    spec_doc = data_plugin_spec()
    spec_doc["paths"]["/bulk"] = {
        "post": {
            "operationId": "bulk",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "array", "items": {"type": "string"}}}
                },
            },
            "responses": {"200": {"description": "OK"}},
        }
    }
    tool = toolset_for(spec_doc).tool("bulk")
    assert tool.parameters["properties"]["body"]["type"] == "array"
    assert tool.bindings["body"].location == "body_whole"
    assert tool.parameters["required"] == ["body"]


def test_it_turns_nullable_into_type_arrays_and_merges_allof():
    spec_doc = data_plugin_spec()
    spec_doc["components"]["schemas"]["SqlQuery"]["properties"]["note"] = {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string", "nullable": True}}},
            {"properties": {"b": {"type": "integer", "enum": [1, 2], "nullable": True}}},
        ]
    }
    tool = toolset_for(spec_doc).tool("querySqlDatabase")
    note = tool.parameters["properties"]["note"]
    assert "allOf" not in note
    assert note["properties"]["a"]["type"] == ["string", "null"]
    assert note["properties"]["b"]["enum"] == [1, 2, None]
    jsonschema.validate(
        {"database": "d", "question": "q", "note": {"a": None, "b": None}}, tool.parameters
    )


def test_it_cuts_recursion_and_says_why_a_tool_has_no_strict_variant():
    spec_doc = data_plugin_spec()
    spec_doc["components"]["schemas"]["Node"] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "child": {"$ref": "#/components/schemas/Node"}},
    }
    spec_doc["components"]["schemas"]["SqlQuery"]["properties"]["tree"] = {
        "$ref": "#/components/schemas/Node"
    }
    tool = toolset_for(spec_doc).tool("querySqlDatabase")
    assert "$ref" not in str(tool.parameters)
    child = tool.parameters["properties"]["tree"]["properties"]["child"]
    assert "recursive" in child["description"]
    assert tool.openai_strict is None
    assert "free-form object" in tool.openai_strict_reason
    assert tool.anthropic_strict is None
    assert tool.anthropic_strict_reason


def test_it_derives_an_openai_strict_variant_with_optional_fields_nullable():
    tool = toolset_for(data_plugin_spec()).tool("querySqlDatabase")
    strict = tool.openai_strict
    assert strict["additionalProperties"] is False
    assert strict["required"] == ["database", "question", "limit"]
    assert strict["properties"]["limit"]["type"] == ["integer", "null"]
    assert tool.anthropic_strict["properties"]["limit"] == {"type": "integer"}
    assert tool.anthropic_counts == {"optional": 1, "unions": 0}


def test_it_disables_operations_it_cannot_serve_with_the_reason():
    spec_doc = data_plugin_spec()
    spec_doc["paths"]["/upload"] = {
        "post": {
            "operationId": "upload",
            "requestBody": {
                "content": {"multipart/form-data": {"schema": {"type": "object"}}},
            },
            "responses": {"200": {"description": "OK"}},
        }
    }
    toolset = toolset_for(spec_doc)
    assert toolset.tool("upload") is None
    (disabled,) = toolset.disabled
    assert disabled.operation == "upload"
    assert "multipart/form-data" in disabled.reason

    plugin = normalized(data_plugin_spec())
    plugin["server_url"] = None
    assert {d.reason for d in build_toolset(plugin).disabled} == {
        "The validated spec has no usable server URL."
    }


def test_it_shortens_long_names_with_a_hash_and_deduplicates():
    taken: set[str] = set()
    long = tool_name("a" * 50, "b" * 50, taken)
    assert len(long) == 64
    assert TOOL_NAME.match(long)
    again = tool_name("a" * 50, "b" * 50, taken)
    assert again != long
    assert len(again) <= 64
    assert tool_name("x", "op-1", taken) != tool_name("x", "op_1", taken)


def test_it_clips_descriptions_to_1024_characters():
    spec_doc = data_plugin_spec()
    spec_doc["paths"]["/databases"]["get"]["description"] = "word " * 600
    tool = toolset_for(spec_doc).tool("listTables")
    assert len(tool.description) <= 1024


def test_it_narrows_guarded_arguments_to_the_users_values():
    tool = toolset_for(data_plugin_spec()).tool("querySqlDatabase")
    before = copy.deepcopy(tool.parameters)
    mine = narrowed(tool, {"database": ["sales", "hr"]})
    assert mine.parameters["properties"]["database"]["enum"] == ["hr", "sales"]
    assert mine.openai_strict["properties"]["database"]["enum"] == ["hr", "sales"]
    assert tool.parameters == before


@pytest.mark.parametrize("fmt_version", ["3.0.1", "3.1.0"])
def test_it_checks_arguments_with_the_full_schema(fmt_version):
    spec_doc = data_plugin_spec()
    spec_doc["openapi"] = fmt_version
    tool = toolset_for(spec_doc).tool("querySqlDatabase")
    checker = jsonschema.Draft202012Validator(tool.input_schema)
    assert not list(checker.iter_errors({"database": "sales", "question": "how many?"}))
    problems = {e.json_path for e in checker.iter_errors({"database": ["x"], "question": "a"})}
    assert problems == {"$.database", "$.question"}
    extra = list(checker.iter_errors({"database": "x", "question": "abc", "sql": "drop"}))
    assert extra
    assert "sql" in extra[0].message


def test_an_operation_whose_input_schema_has_a_broken_ref_is_disabled_with_the_ref_named():
    spec_doc = data_plugin_spec()
    query = spec_doc["components"]["schemas"]["SqlQuery"]["properties"]
    query["filters"] = {"type": "array", "items": {"$ref": "#/components/schemas/Missing"}}
    toolset = toolset_for(spec_doc)
    assert toolset.tool("querySqlDatabase") is None
    (disabled,) = toolset.disabled
    assert disabled.operation == "querySqlDatabase"
    assert "#/components/schemas/Missing" in disabled.reason
    assert "filters" in disabled.reason
    assert [t.operation for t in toolset.tools] == ["queryCosmosDb", "listTables"]


def test_an_operation_whose_parameter_schema_is_a_broken_ref_is_disabled():
    spec_doc = data_plugin_spec()
    parameters = spec_doc["paths"]["/containers/{container}/query"]["get"]["parameters"]
    parameters[1]["schema"] = {"$ref": "#/components/schemas/Nowhere"}
    (disabled,) = toolset_for(spec_doc).disabled
    assert disabled.operation == "queryCosmosDb"
    assert "question" in disabled.reason
    assert "#/components/schemas/Nowhere" in disabled.reason


def test_an_operation_with_an_undeclared_path_parameter_is_disabled():
    plugin = normalized(data_plugin_spec())
    cosmos = next(op for op in plugin["operations"] if op["name"] == "queryCosmosDb")
    cosmos["parameters"] = [p for p in cosmos["parameters"] if p["in"] != "path"]
    (disabled,) = build_toolset(plugin).disabled
    assert disabled.operation == "queryCosmosDb"
    assert "{container}" in disabled.reason
