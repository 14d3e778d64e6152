"""The OpenPlugin dialect and its extensions."""

import json
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.validation.helpers import (
    codes,
    openplugin_spec,
    operation,
    spec,
    validate,
    validate_openplugin,
)

CORPUS = Path(settings.MARKETPLACE_CORPUS_DIR)


def _corpus_spec(slug: str) -> dict:
    path = CORPUS / slug / "openapi.json"
    if not path.exists():
        pytest.skip(f"corpus entry {slug} not found under {CORPUS}")
    return json.loads(path.read_bytes())


def _chain(template: str, implementation: str = "template_engine_with_jinja") -> dict:
    return {
        "name": "m",
        "initial_input_port": "json",
        "finish_output_port": "text",
        "processors": [
            {
                "input_port": "json",
                "output_port": "text",
                "processor_type": "template_engine",
                "processor_implementation_type": implementation,
                "metadata": {"template": template},
            }
        ],
    }


def test_it_reads_the_synthetic_example_with_every_extension():
    report = validate_openplugin(
        _corpus_spec("openplugin-synthetic-docs-example"), origin="api.example.com"
    )
    assert report.passed, [f.to_dict() for f in report.errors]
    plugin = report.plugin
    assert plugin["dialect"] == "openplugin"
    assert plugin["name_for_human"] == "My First Plugin"
    assert plugin["name_for_model"] == "My_First_Plugin"
    assert plugin["openplugin"]["permutate_doc_url"] == "https://example.com/permutate.json"
    assert plugin["auth"]["type"] == "oauth"
    ops = {op["name"]: op for op in plugin["operations"]}
    assert ops["getAccessTokenInfo"]["bootstrap"] is True
    assert ops["getAccessTokenInfo"]["bootstrap_values"] == {
        "token": "{{ auth.data.access_token }}"
    }
    assert ops["findCityId"]["few_shot_examples"][0]["parameter_mapping"] == {"city": "Austin"}
    trains = ops["searchTrains"]
    assert trains["human_usage_examples"] == ["Find me a train from Austin to Dallas tomorrow"]
    assert trains["parameters"][0]["x_dependent"] == {
        "path": "/api/v1/find_city_id",
        "method": "get",
    }
    assert (
        trains["filter"]["processors"][0]["processor_implementation_type"]
        == "template_engine_with_jinja"
    )
    assert trains["lookup"][0]["path"] == "/api/v1/train_providers"
    assert trains["output_modules"][0]["name"] == "default_cleanup_response"


@pytest.mark.parametrize("slug", ["openplugin-derived-klarna", "openplugin-derived-serp-api"])
def test_it_reads_the_derived_openplugin_documents(slug):
    report = validate_openplugin(_corpus_spec(slug), origin=None)
    assert report.passed, [f.to_dict() for f in report.errors]
    assert report.plugin["dialect"] == "openplugin"
    assert report.plugin["operations"]


def test_it_takes_the_identity_from_info_when_there_is_no_x_openplugin():
    report = validate_openplugin(spec())
    assert report.passed
    assert "openplugin.extension.missing" in codes(report, "warning")
    assert report.plugin["name_for_human"] == "Todo"


def test_it_rejects_a_bootstrap_operation_with_a_required_parameter_and_no_value():
    doc = openplugin_spec(paths={"/a": {"get": operation(**{"x-bootstrap": True})}})
    assert "openplugin.bootstrap.missing_value" in codes(validate_openplugin(doc), "error")


def test_it_accepts_a_bootstrap_operation_whose_required_parameters_have_values():
    op = operation(**{"x-bootstrap": True})
    op["parameters"][0]["x-bootstrap-value"] = "{{ auth.data.user_id }}"
    report = validate_openplugin(openplugin_spec(paths={"/a": {"get": op}}))
    assert report.passed
    assert report.plugin["operations"][0]["bootstrap_values"] == {
        "username": "{{ auth.data.user_id }}"
    }


def test_it_rejects_x_dependent_pointing_at_a_missing_operation():
    op = operation()
    op["parameters"][0]["x-dependent"] = {"path": "/nowhere", "method": "get"}
    report = validate_openplugin(openplugin_spec(paths={"/a": {"get": op}}))
    assert "openplugin.dependent.unknown_operation" in codes(report, "error")


def test_it_rejects_x_lookup_pointing_at_a_missing_operation():
    schema = {
        "type": "object",
        "properties": {
            "id": {
                "type": "string",
                "x-lookup": {"path": "/x", "method": "get", "parameter": "$request.query.id"},
            }
        },
    }
    op = operation(
        responses={
            "200": {"description": "OK", "content": {"application/json": {"schema": schema}}}
        }
    )
    report = validate_openplugin(openplugin_spec(paths={"/a": {"get": op}}))
    assert "openplugin.lookup.unknown_operation" in codes(report, "error")


def test_it_rejects_an_unknown_processor_type():
    op = operation(**{"x-output-modules": [_chain("{{ x }}", "shell_with_bash")]})
    report = validate_openplugin(openplugin_spec(paths={"/a": {"get": op}}))
    assert "openplugin.processor.unknown" in codes(report, "error")


def test_it_rejects_a_jinja_processor_without_a_template():
    chain = _chain("x")
    del chain["processors"][0]["metadata"]["template"]
    doc = openplugin_spec(**{"x-output-modules": [chain]})
    assert "openplugin.processor.missing_template" in codes(validate_openplugin(doc), "error")


def test_it_rejects_a_template_that_does_not_compile():
    op = operation(**{"x-filter": _chain("{% for x in %}")})
    report = validate_openplugin(openplugin_spec(paths={"/a": {"get": op}}))
    template_errors = {c for c in codes(report, "error") if c.startswith("openplugin.template.")}
    assert template_errors


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ x|attr('__class__') }}",
    ],
)
def test_it_rejects_templates_that_try_to_escape_the_sandbox(template):
    op = operation(**{"x-output-modules": [_chain(template)]})
    report = validate_openplugin(openplugin_spec(paths={"/a": {"get": op}}))
    assert any(c.startswith("openplugin.template.") for c in codes(report, "error"))


@pytest.mark.parametrize(
    "template",
    ["{{ 10 ** 10000000 }}", "{{ 'x' * 1000000000 }}", "{% for i in range(10**9) %}x{% endfor %}"],
)
def test_it_never_renders_templates_that_would_exhaust_the_sandbox(template):
    # The sandbox bounds these when rendering; the validator only compiles, so it stays fast.
    op = operation(**{"x-output-modules": [_chain(template)]})
    started = time.perf_counter()
    report = validate_openplugin(openplugin_spec(paths={"/a": {"get": op}}))
    assert time.perf_counter() - started < 2
    assert "internal.error" not in codes(report)


def test_it_warns_about_few_shot_examples_mapping_unknown_parameters():
    op = operation(
        **{
            "x-few-shot-examples": [
                {
                    "prompt": "todos for bob",
                    "parameter_mapping": {"username": "bob", "color": "red"},
                }
            ]
        }
    )
    report = validate_openplugin(openplugin_spec(paths={"/a": {"get": op}}))
    assert report.passed
    assert "openplugin.few_shot.unknown_parameter" in codes(report, "warning")


def test_it_checks_extensions_in_the_manifest_dialect_too():
    op = operation(**{"x-bootstrap": True})
    report = validate(spec_doc=spec(paths={"/a": {"get": op}}))
    assert "openplugin.bootstrap.missing_value" in codes(report, "error")


def test_it_warns_that_documented_processors_it_does_not_run_are_passed_through():
    doc = openplugin_spec(**{"x-output-modules": [_chain("x", "llm_engine_with_openai")]})
    report = validate_openplugin(doc)
    assert report.passed
    assert "openplugin.processor.not_run" in codes(report, "warning")


def _city_plugin(home_city: dict, *, dependent: dict | None = None, lookup: dict | None = None):
    """searchTrains(origin_city_id ← x-dependent) whose answer's provider ids have an x-lookup."""
    provider = {"type": "string"}
    if lookup is not None:
        provider["x-lookup"] = lookup
    trains = {
        "operationId": "searchTrains",
        "parameters": [
            {
                "name": "origin_city_id",
                "in": "query",
                "required": True,
                "schema": {"type": "string"},
                "x-dependent": dependent or {"path": "/home_city", "method": "get"},
            }
        ],
        "responses": {
            "200": {
                "description": "OK",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"provider_id": provider}},
                        }
                    }
                },
            }
        },
    }
    providers = {
        "operationId": "getProvider",
        "parameters": [
            {"name": "provider_id", "in": "query", "required": True, "schema": {"type": "string"}},
            {"name": "lang", "in": "query", "required": True, "schema": {"type": "string"}},
        ],
        "responses": {"200": {"description": "OK"}},
    }
    return openplugin_spec(
        paths={
            "/trains": {"get": trains},
            "/home_city": {"get": home_city},
            "/providers": {"get": providers},
        }
    )


def _no_input_op(name: str = "getHomeCity") -> dict:
    return {"operationId": name, "responses": {"200": {"description": "OK"}}}


def test_x_dependent_on_an_operation_that_needs_no_input_is_resolvable_without_findings():
    report = validate_openplugin(_city_plugin(_no_input_op()))
    assert report.passed
    assert not {c for c in codes(report) if c.startswith("openplugin.dependent")}


def test_it_says_when_the_model_supplies_an_x_dependent_parameter():
    needs_city = operation(operationId="getHomeCity")  # a required `username` without default
    report = validate_openplugin(_city_plugin(needs_city))
    assert report.passed  # information, not a fault: the parameter stays the model's
    found = next(f for f in report.findings if f.code == "openplugin.dependent.needs_input")
    assert found.severity == "info"
    assert "'getHomeCity' needs model input (username" in found.message


def test_a_default_or_a_bootstrap_value_is_input_enough():
    op = operation(operationId="getHomeCity")
    op["parameters"][0]["schema"]["default"] = "me"
    assert "openplugin.dependent.needs_input" not in codes(validate_openplugin(_city_plugin(op)))
    op = operation(operationId="getHomeCity")
    op["parameters"][0]["x-bootstrap-value"] = "{{ auth.data.user_id }}"
    assert "openplugin.dependent.needs_input" not in codes(validate_openplugin(_city_plugin(op)))


def test_it_rejects_an_x_dependent_on_its_own_operation_and_a_field_that_is_not_text():
    own = _city_plugin(_no_input_op(), dependent={"path": "/trains", "method": "get"})
    assert "openplugin.dependent.self_reference" in codes(validate_openplugin(own), "error")
    bad_field = _city_plugin(
        _no_input_op(), dependent={"path": "/home_city", "method": "get", "field": 3}
    )
    assert "openplugin.dependent.invalid" in codes(validate_openplugin(bad_field), "error")


def test_x_lookup_checks_its_parameter_expression_and_the_other_inputs():
    lookup = {"path": "/providers", "method": "get", "parameter": "$request.query.provider_id"}
    report = validate_openplugin(_city_plugin(_no_input_op(), lookup=lookup))
    found = next(f for f in report.findings if f.code == "openplugin.lookup.needs_input")
    assert "(lang has no default" in found.message
    odd = {**lookup, "parameter": "provider_id"}
    assert "openplugin.lookup.invalid" in codes(
        validate_openplugin(_city_plugin(_no_input_op(), lookup=odd)), "error"
    )
    wrong_place = {**lookup, "parameter": "$request.path.provider_id"}
    assert "openplugin.lookup.unknown_parameter" in codes(
        validate_openplugin(_city_plugin(_no_input_op(), lookup=wrong_place)), "warning"
    )


def test_the_synthetic_example_keeps_its_city_ids_for_the_model():
    """findCityId needs the city's name, so the model supplies origin and destination ids."""
    report = validate_openplugin(
        _corpus_spec("openplugin-synthetic-docs-example"), origin="api.example.com"
    )
    needs = [f for f in report.findings if f.code == "openplugin.dependent.needs_input"]
    assert len(needs) == 2
    assert "lookup" not in " ".join(codes(report))
