"""One content-type rule for fetched documents: the outbound client's.

Plugin servers send JSON and YAML under many names; all of the JSON/YAML families and anything
textual are read, a vague header (text/plain, application/octet-stream, none) is settled by
sniffing the body, and a refusal names the type that arrived with a hint that fits.
"""

from __future__ import annotations

import pytest
import yaml

from plugins.models import RunStatus
from plugins.outbound import document_media_type
from tests.support.plugin_server import Response
from tests.support.plugins import (
    finding_codes,
    register_and_validate,
    todo_manifest,
    todo_openapi,
)

pytestmark = pytest.mark.django_db


def serve(server, *, manifest_type: str, spec_type: str, spec_as_yaml: bool = False) -> None:
    spec = todo_openapi(server)
    body = yaml.safe_dump(spec) if spec_as_yaml else spec
    server.route(
        "/.well-known/ai-plugin.json",
        Response(todo_manifest(server), content_type=manifest_type),
    )
    server.route("/openapi.json", Response(body, content_type=spec_type))
    server.route("/logo.png", Response(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/png"))
    server.route("/legal", Response("<html>terms</html>", content_type="text/html"))


@pytest.mark.parametrize(
    ("content_type", "as_yaml", "stored_as"),
    [
        ("text/json", False, "text/json"),
        ("application/x-json", False, "application/x-json"),
        ("text/plain; charset=utf-8", False, "application/json"),
        ("application/octet-stream", False, "application/json"),
        ("", False, "application/json"),
        ("text/yaml", True, "text/yaml"),
        ("application/x-yaml", True, "application/x-yaml"),
        ("application/vnd.oai.openapi", True, "application/vnd.oai.openapi"),
        ("application/vnd.oai.openapi+json;version=3.0", False, "application/vnd.oai.openapi+json"),
        ("text/plain", True, "application/yaml"),
    ],
)
def test_it_reads_documents_served_under_any_json_or_yaml_name(
    plugin_server, acme, alice, content_type, as_yaml, stored_as
):
    serve(plugin_server, manifest_type=content_type, spec_type=content_type, spec_as_yaml=as_yaml)

    run = register_and_validate(acme, alice, plugin_server.url("/"))

    assert run.status == RunStatus.PASSED, finding_codes(run)
    assert run.version.openapi_content_type == stored_as


def test_a_refused_type_is_named_with_a_hint_that_fits(plugin_server, acme, alice):
    serve(plugin_server, manifest_type="application/json", spec_type="image/png")

    run = register_and_validate(acme, alice, plugin_server.url("/"))

    finding = run.findings.get(code="fetch.openapi.unexpected_content_type")
    assert "image/png" in finding.message
    assert "application/json" in finding.hint
    assert "HTTPS" not in finding.hint  # not the generic hint


def test_a_vague_header_is_settled_by_the_body_and_named_in_the_finding(plugin_server, acme, alice):
    serve(plugin_server, manifest_type="application/json", spec_type="application/json")
    plugin_server.route(
        "/openapi.json",
        Response("<!doctype html><html><body>Log in</body></html>", content_type="text/plain"),
    )

    run = register_and_validate(acme, alice, plugin_server.url("/"))

    assert run.version.openapi_content_type == "text/html"
    finding = run.findings.get(code="document.html")
    assert "arrived as text/html" in finding.message


@pytest.mark.parametrize(
    ("declared", "body", "expected"),
    [
        ("application/octet-stream", b'{"a": 1}', "application/json"),
        ("text/plain", b"openapi: 3.0.0\n", "application/yaml"),
        ("", b"\xef\xbb\xbf  [1]", "application/json"),
        ("text/plain", b"<html>", "text/html"),
        ("application/octet-stream", b"\x89PNG\r\n\x1a\n\0\0", "application/octet-stream"),
        ("application/json; charset=utf-8", b"<html>", "application/json"),
        ("text/yaml", b"{}", "text/yaml"),
    ],
)
def test_it_sniffs_only_where_the_header_is_vague(declared, body, expected):
    assert document_media_type(declared, body) == expected
