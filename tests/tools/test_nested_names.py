"""Property names below an argument (objects in the body, arrays of objects) that Anthropic's
pattern refuses are renamed, and the binding keeps the way back."""

from __future__ import annotations

import re

import jsonschema

from plugins.tools import Renderer
from plugins.tools.nested import to_real, to_shown
from tests.tools.specs import data_plugin_spec
from tests.tools.test_build_toolset import toolset_for
from tests.tools.test_vendor_types import check_rendered, property_keys

ANTHROPIC_KEY = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")


def nested_spec(server: str = "https://api.example.com") -> dict:
    """The data plugin whose query takes `filters`: a list of objects with awkward names."""
    spec = data_plugin_spec(server)
    spec["components"]["schemas"]["SqlQuery"]["properties"]["filters"] = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["created at"],
            "properties": {
                "created at": {"type": "string"},
                "$top": {"type": "integer"},
                "owner.id": {"type": "string"},  # valid for Anthropic: kept
                "owner": {
                    "type": "object",
                    "properties": {"e-mail address": {"type": "string"}},
                },
                "labels": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {"colour #": {"type": "string"}},
                    },
                },
            },
        },
    }
    return spec


REAL = {
    "database": "sales",
    "question": "how many?",
    "filters": [
        {
            "created at": "2026-01-01",
            "$top": 5,
            "owner.id": "7",
            "owner": {"e-mail address": "a@b.c"},
            "labels": {"x": {"colour #": "red"}},
        }
    ],
}


# What a model that saw the renamed tool sends for REAL.
SHOWN = {
    **REAL,
    "filters": [
        {
            "created_at": "2026-01-01",
            "top": 5,
            "owner.id": "7",
            "owner": {"e_mail_address": "a@b.c"},
            "labels": {"x": {"colour": "red"}},
        }
    ],
}


def test_nested_names_become_valid_for_anthropic_at_every_depth():
    tool = toolset_for(nested_spec()).tool("querySqlDatabase")
    for schema in (tool.parameters, tool.input_schema, tool.anthropic_strict):
        if schema is None:
            continue
        keys = property_keys(schema)
        assert all(ANTHROPIC_KEY.match(key) for key in keys), keys
        assert "owner.id" in keys
    items = tool.parameters["properties"]["filters"]["items"]
    assert items["required"] == ["created_at"]
    rendered = Renderer("anthropic").render_plugin(name="data", description="d", tools=[tool])
    check_rendered("anthropic", rendered)
    assert all(ANTHROPIC_KEY.match(key) for key in property_keys(rendered))


def test_the_binding_maps_the_models_value_back_to_the_real_names_and_forth():
    tool = toolset_for(nested_spec()).tool("querySqlDatabase")
    renames = tool.bindings["filters"].renames
    shown = to_shown(REAL["filters"], renames)
    assert shown == SHOWN["filters"]
    jsonschema.validate({**REAL, "filters": shown}, tool.input_schema)
    assert to_real(shown, renames) == REAL["filters"]
    assert tool.bindings["database"].renames is None
