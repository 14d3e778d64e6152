"""$ref handling: nothing is ever fetched; cycles and ref bombs are bounded."""

import json
import time

import pytest

from plugins.validation.refs import Dereferencer, RefKind, classify_ref
from tests.validation.helpers import codes, finding, operation, spec, validate, validate_openplugin


def _spec_with_schema(schema: dict, **components) -> dict:
    op = operation(
        responses={
            "200": {"description": "OK", "content": {"application/json": {"schema": schema}}}
        }
    )
    return spec(
        paths={"/a": {"get": op}},
        components={"schemas": {"Todos": {"type": "string"}, **components}},
    )


def test_it_rejects_a_ref_to_a_local_file_and_never_reads_it():
    report = validate(spec_doc=_spec_with_schema({"$ref": "file:///etc/passwd"}))
    f = finding(report, "openapi.ref.external_file")
    assert f.severity == "error"
    assert f.pointer == "/paths/~1a/get/responses/200/content/application~1json/schema/$ref"
    assert "root:" not in json.dumps([x.to_dict() for x in report.findings])


def test_it_rejects_a_relative_file_ref_when_there_is_no_base_url():
    doc = _spec_with_schema({"$ref": "schemas.yaml#/Todo"})
    report = validate_openplugin(doc, origin=None)
    assert "openapi.ref.external_file" in codes(report, "error")


def test_it_resolves_a_relative_ref_against_the_spec_url_from_the_manifest():
    report = validate(spec_doc=_spec_with_schema({"$ref": "schemas.yaml#/Todo"}))
    assert report.passed
    assert report.remote_refs == ("https://api.example.com/schemas.yaml",)


def test_it_rejects_a_remote_ref_off_the_root_domain():
    report = validate(spec_doc=_spec_with_schema({"$ref": "http://127.0.0.1:9/x.json#/A"}))
    assert "openapi.ref.off_domain" in codes(report, "error")
    assert report.remote_refs == ()


def test_it_asks_the_fetch_stage_for_a_remote_ref_on_the_root_domain():
    url = "https://plugin.example.com/nested/labels.yaml"
    report = validate(spec_doc=_spec_with_schema({"$ref": url}))
    assert report.passed
    assert "openapi.ref.remote_unbundled" in codes(report, "warning")
    assert report.remote_refs == (url,)
    # an empty schema, marked so tools can tell it from one that accepts anything on purpose
    assert report.plugin["operations"][0]["responses"]["200"] == {"x-unresolved-ref": url}


def test_it_inlines_a_bundled_remote_ref():
    url = "https://plugin.example.com/nested/labels.yaml"
    bundle = b"Labels:\n  type: array\n  items: {$ref: '#/Label'}\nLabel: {type: string}\n"
    report = validate(
        spec_doc=_spec_with_schema({"$ref": url + "#/Labels"}), bundled_refs={url: bundle}
    )
    assert report.passed
    assert "openapi.ref.bundled" in codes(report, "info")
    assert report.remote_refs == ()
    expected = {"type": "array", "items": {"type": "string"}}
    assert report.plugin["operations"][0]["responses"]["200"] == expected
    schema = report.normalized_openapi["paths"]["/a"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    assert schema == expected


def test_it_rejects_a_remote_ref_when_the_origin_is_unknown():
    report = validate(
        spec_doc=_spec_with_schema({"$ref": "https://example.com/x.json"}), origin=None
    )
    assert "openapi.ref.remote_unknown_origin" in codes(report, "error")


def test_it_replaces_a_broken_internal_ref_with_an_empty_schema():
    report = validate(spec_doc=_spec_with_schema({"$ref": "#/components/schemas/Nope"}))
    assert report.passed
    assert "openapi.ref.broken" in codes(report, "warning")
    assert report.plugin["operations"][0]["responses"]["200"] == {
        "x-unresolved-ref": "#/components/schemas/Nope"
    }
    assert "openapi.strict.invalid" not in codes(report)


def test_it_keeps_recursive_schemas_with_a_marker():
    node = {
        "type": "object",
        "properties": {
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}
        },
    }
    report = validate(spec_doc=_spec_with_schema({"$ref": "#/components/schemas/Node"}, Node=node))
    assert report.passed
    schema = report.plugin["operations"][0]["responses"]["200"]
    assert schema["properties"]["children"]["items"] == {"$recursive": "#/components/schemas/Node"}


def test_it_survives_a_ref_cycle_between_two_schemas_and_a_self_ref():
    report = validate(
        spec_doc=_spec_with_schema(
            {"$ref": "#/components/schemas/A"},
            A={"$ref": "#/components/schemas/B"},
            B={"$ref": "#/components/schemas/A"},
            C={"$ref": "#/components/schemas/C"},
        )
    )
    assert report.plugin["operations"][0]["responses"]["200"] == {
        "$recursive": "#/components/schemas/A"
    }


def test_it_bounds_an_exponential_ref_tree():
    schemas = {"L0": {"type": "string"}}
    for i in range(1, 40):
        schemas[f"L{i}"] = {
            "type": "object",
            "properties": {
                "a": {"$ref": f"#/components/schemas/L{i - 1}"},
                "b": {"$ref": f"#/components/schemas/L{i - 1}"},
            },
        }
    started = time.perf_counter()
    report = validate(spec_doc=_spec_with_schema({"$ref": "#/components/schemas/L39"}, **schemas))
    assert time.perf_counter() - started < 10
    assert report.passed
    assert "openapi.ref.budget_exceeded" in codes(report, "warning")
    assert len(json.dumps(report.plugin)) < 20_000_000


@pytest.mark.parametrize(
    ("ref", "kind"),
    [
        ("#/components/schemas/A", RefKind.LOCAL),
        ("#A", RefKind.LOCAL_OTHER),
        ("file:///etc/passwd", RefKind.FILE),
        ("../x.yaml", RefKind.FILE),
        ("C:\\x.yaml", RefKind.FILE),
        ("ftp://example.com/x", RefKind.UNSUPPORTED),
        ("https://api.example.com/x.yaml#/A", RefKind.REMOTE_SAME_ROOT),
        ("https://example.com.evil.test/x.yaml", RefKind.REMOTE_OFF_DOMAIN),
    ],
)
def test_it_classifies_refs(ref, kind):
    assert classify_ref(ref, base_url=None, root="example.com").kind is kind


def test_it_resolves_relative_refs_against_the_spec_url():
    target = classify_ref(
        "schemas/x.yaml#/A", base_url="https://api.example.com/v1/spec.yaml", root="example.com"
    )
    assert target.kind is RefKind.REMOTE_SAME_ROOT
    assert (target.url, target.fragment) == ("https://api.example.com/v1/schemas/x.yaml", "/A")


def test_the_dereferencer_never_loads_anything_it_is_not_given():
    deref = Dereferencer({"a": {"$ref": "https://example.com/x.json"}}, root="example.com")
    assert deref.expand({"$ref": "#/a"}) == {"x-unresolved-ref": "https://example.com/x.json"}
    assert deref.missing_remote == {"https://example.com/x.json"}
