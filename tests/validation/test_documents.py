"""Unreadable documents are errors with the parser's code, never crashes."""

from plugins.validation import PluginInput, validate_plugin
from tests.validation.helpers import codes, encode, manifest, validate


def test_it_rejects_an_html_page_where_the_spec_was_expected():
    report = validate(spec_doc=b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>")
    assert "document.html" in codes(report, "error")
    assert report.plugin is None


def test_it_rejects_a_manifest_that_is_not_json():
    report = validate(manifest_doc=b'{"schema_version": "v1",,}')
    f = next(f for f in report.findings if f.document == "manifest")
    assert f.severity == "error"
    assert f.code.startswith("document.")


def test_it_rejects_an_empty_spec():
    assert "document.empty" in codes(validate(spec_doc=b"   \n"), "error")


def test_it_rejects_a_spec_that_is_not_a_mapping():
    assert "document.not_a_mapping" in codes(validate(spec_doc=b'"Not Found"'), "error")


def test_it_rejects_an_error_json_where_the_spec_was_expected():
    report = validate(spec_doc={"detail": "Authentication credentials were not provided."})
    assert "openapi.version.missing" in codes(report, "error")


def test_it_rejects_a_swagger_2_document():
    report = validate(spec_doc={"swagger": "2.0", "info": {}, "paths": {}})
    assert "openapi.version.unsupported" in codes(report, "error")


def test_it_reads_yaml_specs():
    text = (
        b"openapi: 3.1\ninfo: {title: T, version: '1'}\npaths:\n  /a:\n    get:\n"
        b"      operationId: a\n      responses:\n        200:\n          description: ok\n"
    )
    report = validate(spec_doc=text)
    assert report.passed
    assert "openapi.version.numeric" in codes(report, "warning")
    assert report.normalized_openapi["openapi"] == "3.1.0"
    assert "200" in report.normalized_openapi["paths"]["/a"]["get"]["responses"]


def test_it_reports_no_documents_at_all():
    report = validate_plugin(PluginInput())
    assert codes(report) == {"plugin.no_documents"}


def test_it_handles_a_yaml_alias_bomb_without_exploding():
    bomb = (
        b"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        b"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    )
    report = validate_plugin(PluginInput(manifest=encode(manifest()), openapi=bomb))
    assert not report.passed
