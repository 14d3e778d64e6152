"""OpenAPI rules and repairs: the raw document is kept by the caller, the normalised one is
repaired, and every repair is a warning."""

from tests.validation.helpers import codes, finding, operation, spec, validate


def test_it_rejects_a_spec_without_any_operation():
    report = validate(spec_doc=spec(paths={"/todos": {"summary": "nothing here"}}))
    assert "openapi.operations.none" in codes(report, "error")


def test_it_rejects_a_spec_without_paths():
    assert "openapi.paths.missing" in codes(validate(spec_doc=spec(paths=...)), "error")


def test_it_repairs_quoted_openapi_versions():
    report = validate(spec_doc=spec(openapi='"3.1.0"'))
    assert report.passed
    assert "openapi.version.nonstandard" in codes(report, "warning")
    assert report.normalized_openapi["openapi"] == "3.1.0"


def test_it_repairs_numeric_openapi_versions():
    report = validate(spec_doc=spec(openapi=3.0))
    assert "openapi.version.numeric" in codes(report, "warning")
    assert report.plugin["openapi_version"] == "3.0.0"


def test_it_moves_required_true_out_of_property_schemas():
    body = {
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "todo": {"type": "string", "required": True},
                        "note": {"type": "string", "required": False},
                    },
                }
            }
        }
    }
    doc = spec(paths={"/todos": {"post": operation(operationId="addTodo", requestBody=body)}})
    report = validate(spec_doc=doc)
    assert report.passed
    f = finding(report, "openapi.schema.required_in_property")
    assert f.severity == "warning"
    assert f.pointer.endswith("/properties/todo/required")
    schema = report.normalized_openapi["paths"]["/todos"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    assert schema["required"] == ["todo"]
    assert "required" not in schema["properties"]["todo"]
    assert "required" not in schema["properties"]["note"]


def test_it_names_operations_without_an_operation_id():
    op = operation()
    del op["operationId"]
    report = validate(spec_doc=spec(paths={"/todos/{id}": {"get": op}}))
    assert report.passed
    assert "openapi.operation_id.missing" in codes(report, "warning")
    only = report.plugin["operations"][0]
    assert (only["name"], only["operation_id"]) == ("get_todos_id", None)
    assert report.normalized_openapi["paths"]["/todos/{id}"]["get"]["operationId"] == "get_todos_id"


def test_it_renames_duplicate_operation_ids_stably():
    doc = spec(
        paths={
            "/a": {"get": operation(), "post": operation()},
            "/b": {"get": operation(operationId="getTodos_2")},
        }
    )
    first, second = validate(spec_doc=doc), validate(spec_doc=doc)
    assert first.passed
    names = [op["name"] for op in first.plugin["operations"]]
    assert names == ["getTodos", "getTodos_3", "getTodos_2"]
    assert names == [op["name"] for op in second.plugin["operations"]]
    assert "openapi.operation_id.duplicate" in codes(first, "warning")


def test_it_sanitises_operation_ids_tools_cannot_call():
    report = validate(spec_doc=spec(paths={"/a": {"get": operation(operationId="get todos!")}}))
    assert report.passed
    assert "openapi.operation_id.invalid" in codes(report, "warning")
    assert report.plugin["operations"][0]["name"] == "get_todos"
    assert report.plugin["operations"][0]["operation_id"] == "get todos!"


def test_it_warns_about_long_operation_and_parameter_descriptions():
    op = operation(summary="s" * 301, description="d" * 301)
    op["parameters"][0]["description"] = "p" * 701
    report = validate(spec_doc=spec(paths={"/a": {"get": op}}))
    assert report.passed
    assert {
        "openapi.operation.summary_too_long",
        "openapi.operation.description_too_long",
        "openapi.parameter.description_too_long",
    } <= codes(report, "warning")


def test_it_accepts_descriptions_at_the_limits_the_store_enforced():
    op = operation(summary="s" * 300)
    op["parameters"][0]["description"] = "p" * 700
    assert validate(spec_doc=spec(paths={"/a": {"get": op}})).findings == ()


def test_it_falls_back_to_the_spec_host_without_servers():
    report = validate(
        spec_doc=spec(servers=...), openapi_url="https://api.example.com/openapi.yaml"
    )
    assert report.passed
    assert "openapi.servers.missing" in codes(report, "warning")
    assert report.plugin["server_url"] == "https://api.example.com"


def test_it_chooses_the_first_server_on_the_root_domain():
    servers = [{"url": "https://cdn.other.net"}, {"url": "https://api.example.com/v1/"}]
    report = validate(spec_doc=spec(servers=servers))
    assert report.plugin["server_url"] == "https://api.example.com/v1"
    assert report.plugin["servers"] == ["https://cdn.other.net", "https://api.example.com/v1/"]


def test_it_warns_when_no_server_is_on_the_root_domain():
    report = validate(
        spec_doc=spec(servers=[{"url": "https://api.other.net"}]),
        openapi_url="https://api.example.com/openapi.yaml",
    )
    assert report.passed
    assert "openapi.servers.off_domain" in codes(report, "warning")
    assert report.plugin["server_url"] == "https://api.example.com"


def test_it_turns_a_swagger_2_body_parameter_into_a_request_body():
    op = operation(
        operationId="addTodo",
        parameters=[{"name": "body", "in": "body", "required": True, "schema": {"type": "object"}}],
    )
    report = validate(spec_doc=spec(paths={"/todos": {"post": op}}))
    assert report.passed
    assert "openapi.parameter.in_body" in codes(report, "warning")
    body = report.plugin["operations"][0]["request_body"]
    assert body == {
        "required": True,
        "content_type": "application/json",
        "schema": {"type": "object"},
    }


def test_it_ignores_unusable_parameters_with_a_warning():
    op = operation(parameters=[{"in": "query"}, {"name": "x", "in": "formData"}])
    report = validate(spec_doc=spec(paths={"/a": {"get": op}}))
    assert report.passed
    assert "openapi.parameter.invalid" in codes(report, "warning")
    assert report.plugin["operations"][0]["parameters"] == []


def test_it_warns_about_strict_schema_failures_with_their_pointer():
    op = operation()
    op["parameters"][0]["in"] = "query"
    op["parameters"][0]["style"] = 42
    report = validate(spec_doc=spec(paths={"/a": {"get": op}}))
    assert report.passed
    strict = [f for f in report.findings if f.code == "openapi.strict.invalid"]
    assert strict
    assert all(f.severity == "warning" for f in strict)
    assert any(f.pointer.startswith("/paths/~1a/get") for f in strict)


def test_it_caps_strict_failures_at_twenty_plus_a_summary():
    paths = {f"/p{i}": {"get": operation(operationId=f"op{i}", responses=42)} for i in range(40)}
    report = validate(spec_doc=spec(paths=paths))
    assert len([f for f in report.findings if f.code == "openapi.strict.invalid"]) == 20
    assert "openapi.strict.more" in codes(report, "info")


def test_it_builds_operations_with_refs_resolved():
    report = validate()
    op = report.plugin["operations"][0]
    assert op["method"] == "get"
    assert op["path"] == "/todos"
    assert op["responses"]["200"] == {"type": "array", "items": {"type": "string"}}
    assert op["parameters"][0] == {
        "name": "username",
        "in": "query",
        "required": True,
        "description": None,
        "schema": {"type": "string"},
        "x_helpers": None,
        "x_dependent": None,
        "x_marketplace_resource": None,
    }
    # the normalised document keeps its own refs for clients
    assert report.normalized_openapi["paths"]["/todos"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"] == {"$ref": "#/components/schemas/Todos"}


def test_it_merges_path_level_parameters():
    item = {
        "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "get": operation(),
    }
    report = validate(spec_doc=spec(paths={"/todos/{id}": item}))
    names = [p["name"] for p in report.plugin["operations"][0]["parameters"]]
    assert names == ["id", "username"]
