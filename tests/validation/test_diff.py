"""diff_versions: what changed between two normalised plugin versions, and what breaks."""

import copy

from plugins.validation import diff_versions
from tests.validation.helpers import operation, spec, validate


def _plugin(paths: dict) -> dict:
    report = validate(spec_doc=spec(paths=paths))
    assert report.plugin is not None
    return report.plugin


BASE = {"/todos": {"get": operation(), "post": operation(operationId="addTodo")}}


def _changed(paths: dict) -> dict:
    return diff_versions(_plugin(BASE), _plugin(paths))


def test_it_lists_every_operation_as_added_for_a_first_version():
    diff = diff_versions(None, _plugin(BASE))
    assert diff["added"] == ["getTodos", "addTodo"]
    assert (diff["removed"], diff["changed"], diff["breaking"]) == ([], [], False)


def test_it_reports_nothing_for_identical_versions():
    diff = _changed(BASE)
    assert (diff["added"], diff["removed"], diff["changed"], diff["breaking"]) == (
        [],
        [],
        [],
        False,
    )


def test_it_flags_a_removed_operation_as_breaking():
    diff = _changed({"/todos": {"get": operation()}})
    assert diff["removed"] == ["addTodo"]
    assert diff["breaking"] is True


def test_it_lists_an_added_operation_as_not_breaking():
    paths = copy.deepcopy(BASE)
    paths["/done"] = {"get": operation(operationId="getDone")}
    diff = _changed(paths)
    assert diff["added"] == ["getDone"]
    assert diff["breaking"] is False


def test_it_flags_a_new_required_parameter_as_breaking():
    paths = copy.deepcopy(BASE)
    paths["/todos"]["get"]["parameters"].append(
        {"name": "list", "in": "query", "required": True, "schema": {"type": "string"}}
    )
    diff = _changed(paths)
    (change,) = diff["changed"]
    assert change["operation"] == "getTodos"
    assert change["breaking"] is True
    assert change["changes"][0]["kind"] == "parameter_added"
    assert diff["breaking"] is True


def test_it_lists_a_new_optional_parameter_as_not_breaking():
    paths = copy.deepcopy(BASE)
    paths["/todos"]["get"]["parameters"].append(
        {"name": "limit", "in": "query", "schema": {"type": "integer"}}
    )
    diff = _changed(paths)
    assert diff["changed"][0]["changes"][0] == {
        "kind": "parameter_added",
        "detail": "new optional query parameter 'limit'",
        "breaking": False,
    }
    assert diff["breaking"] is False


def test_it_flags_a_parameter_type_change_as_breaking():
    paths = copy.deepcopy(BASE)
    paths["/todos"]["get"]["parameters"][0]["schema"] = {"type": "integer"}
    diff = _changed(paths)
    kinds = [c["kind"] for c in diff["changed"][0]["changes"]]
    assert kinds == ["type_changed"]
    assert diff["breaking"] is True


def test_it_flags_an_optional_parameter_becoming_required_as_breaking():
    base = copy.deepcopy(BASE)
    base["/todos"]["get"]["parameters"][0]["required"] = False
    diff = diff_versions(_plugin(base), _plugin(BASE))
    assert diff["changed"][0]["changes"][0]["kind"] == "parameter_required"
    assert diff["breaking"] is True


def test_it_flags_a_moved_operation_as_breaking():
    diff = _changed({"/v2/todos": BASE["/todos"]})
    assert {c["operation"] for c in diff["changed"]} == {"getTodos", "addTodo"}
    assert diff["breaking"] is True


def test_it_flags_a_new_required_body_property_as_breaking():
    def with_body(required):
        paths = copy.deepcopy(BASE)
        schema = {
            "type": "object",
            "properties": {"todo": {"type": "string"}},
            "required": ["todo"],
        }
        if required:
            schema["properties"]["due"] = {"type": "string"}
            schema["required"].append("due")
        paths["/todos"]["post"]["requestBody"] = {
            "content": {"application/json": {"schema": schema}}
        }
        return _plugin(paths)

    diff = diff_versions(with_body(False), with_body(True))
    assert diff["changed"][0]["changes"][0]["kind"] == "property_added"
    assert diff["breaking"] is True


def test_it_lists_a_summary_change_as_not_breaking():
    paths = copy.deepcopy(BASE)
    paths["/todos"]["get"]["summary"] = "Lists todos"
    diff = _changed(paths)
    assert diff["changed"][0]["changes"] == [
        {"kind": "summary", "detail": "the summary changed", "breaking": False}
    ]
    assert diff["breaking"] is False
