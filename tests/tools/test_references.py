"""Which x-dependent and x-lookup references the tool definitions resolve (plugins.tools)."""

from __future__ import annotations

from plugins.tools import build_toolset
from plugins.tools.references import MISSING, dependent_value, values_at_schema_pointer
from tests.tools.specs import normalized, trains_spec


def _tools(spec: dict):
    return build_toolset(normalized(spec))


def test_a_dependent_on_an_operation_needing_no_input_is_filled_and_hidden():
    tool = _tools(trains_spec("https://api.example.com")).tool("searchTrains")
    dependent = tool.dependents["origin_city_id"]
    assert (dependent.operation, dependent.value_at) == ("getHomeCity", "/city/id")
    assert dependent.arguments == {"units": "metric"}  # the spec's default
    assert "origin_city_id" not in tool.parameters["properties"]
    # still checked (as optional) when the marketplace fills it
    assert tool.input_schema["properties"]["origin_city_id"] == {"type": "string"}
    assert "origin_city_id" not in tool.input_schema.get("required", [])
    assert tool.openai_strict is None or "origin_city_id" not in str(tool.openai_strict)


def test_an_operation_that_needs_model_input_leaves_the_parameter_to_the_model():
    spec = trains_spec("https://api.example.com")
    home = spec["paths"]["/home_city"]["get"]["parameters"][0]
    del home["schema"]["default"]
    tool = _tools(spec).tool("searchTrains")
    assert tool.dependents == {}
    assert "origin_city_id" in tool.parameters["required"]


def test_a_bootstrap_value_is_a_template_to_render_per_member():
    spec = trains_spec("https://api.example.com")
    home = spec["paths"]["/home_city"]["get"]["parameters"][0]
    del home["schema"]["default"]
    home["x-bootstrap-value"] = "{{ auth.data.user_id }}"
    dependent = _tools(spec).tool("searchTrains").dependents["origin_city_id"]
    assert dependent.templates == {"units": "{{ auth.data.user_id }}"}
    assert dependent.arguments == {}


def test_no_chains_and_no_cycles():
    # a dependent on itself is never resolved (validation refuses it; the tools don't rely on it)
    plugin = normalized(trains_spec("https://api.example.com"))
    trains = next(op for op in plugin["operations"] if op["name"] == "searchTrains")
    trains["parameters"][0]["x_dependent"] = {"path": "/trains", "method": "get"}
    assert build_toolset(plugin).tool("searchTrains").dependents == {}
    # getHomeCity's own required x-dependent parameter is not followed: it needs input
    spec = trains_spec("https://api.example.com")
    spec["paths"]["/home_city"]["get"]["parameters"].append(
        {
            "name": "country_id",
            "in": "query",
            "required": True,
            "schema": {"type": "string"},
            "x-dependent": {"path": "/providers", "method": "get"},
        }
    )
    tools = _tools(spec)
    assert tools.tool("searchTrains").dependents == {}
    assert "country_id" in tools.tool("getHomeCity").parameters["required"]


def test_a_lookup_takes_the_value_at_its_schema_pointer():
    (lookup,) = _tools(trains_spec("https://api.example.com")).tool("searchTrains").lookups
    assert (lookup.operation, lookup.argument, lookup.key) == (
        "getProvider",
        "provider_id",
        "provider_id",
    )
    answer = [{"provider_id": "a"}, {"provider_id": "b"}, {"provider_id": "a"}, {"x": 1}]
    assert values_at_schema_pointer(answer, lookup.pointer, name=lookup.key) == ["a", "b"]


def test_the_value_of_a_dependent_by_field_by_name_or_id():
    assert dependent_value({"city": {"id": 4}}, field="/city/id", parameter="p") == 4
    assert dependent_value({"p": "x", "id": "y"}, field=None, parameter="p") == "x"
    assert dependent_value([{"id": "y"}], field=None, parameter="p") == "y"
    assert dependent_value("plain", field=None, parameter="p") == "plain"
    assert dependent_value({"city": {"id": {}}}, field="/city/id", parameter="p") is MISSING
    assert dependent_value([{"id": 1}, {"id": 2}], field=None, parameter="p") is MISSING
