"""One small case per finding code, and a guard that every registered code has one here or in
the topic test modules."""

import pytest

from plugins.validation.registry import all_codes
from tests.validation.helpers import (
    codes,
    manifest,
    openplugin_spec,
    operation,
    spec,
    validate,
    validate_openplugin,
)


def _op_spec(op: dict, **extra) -> dict:
    return openplugin_spec(paths={"/a": {"get": op}}, **extra)


def _chain(processors) -> dict:
    return {"name": "m", "processors": processors}


def _lookup_schema(lookup: dict) -> dict:
    schema = {"type": "object", "properties": {"id": {"type": "string", "x-lookup": lookup}}}
    return {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}


def _dependent(block) -> dict:
    op = operation()
    op["parameters"][0]["x-dependent"] = block
    return op


CASES = {
    # code: (severity, a function returning the report)
    "openapi.version.unknown": ("info", lambda: validate(spec_doc=spec(openapi="3.1.3"))),
    "openapi.version.unsupported": ("error", lambda: validate(spec_doc=spec(openapi="2.0"))),
    "openapi.servers.unresolved": (
        "warning",
        lambda: validate_openplugin(openplugin_spec(servers=[{"url": "/api"}]), origin=None),
    ),
    "manifest.api.url.missing": (
        "error",
        lambda: validate(manifest(api={"type": "openapi"})),
    ),
    "manifest.api.url.not_https": (
        "warning",
        lambda: validate(manifest(api={"type": "openapi", "url": "http://api.example.com/o"})),
    ),
    "manifest.api.type.unknown": (
        "warning",
        lambda: validate(manifest(api={"type": "graphql", "url": "https://api.example.com/o"})),
    ),
    "manifest.logo_url.invalid": ("warning", lambda: validate(manifest(logo_url="logo.png"))),
    "auth.wrong_type": (
        "error",
        lambda: validate_openplugin(openplugin_spec(**{"x-plugin-auth": "none"})),
    ),
    "auth.security_mismatch": (
        "warning",
        lambda: validate(
            manifest(),
            spec(
                security=[{"token": []}],
                components={
                    "schemas": {"Todos": {"type": "array", "items": {"type": "string"}}},
                    "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
                },
            ),
        ),
    ),
    "auth.oauth.content_type.missing": (
        "warning",
        lambda: validate(
            manifest(
                auth={
                    "type": "oauth",
                    "client_url": "https://example.com/a",
                    "authorization_url": "https://example.com/t",
                    "verification_tokens": {"openai": "x"},
                }
            )
        ),
    ),
    "auth.verification_tokens.verified": (
        "info",
        lambda: validate(
            manifest(
                auth={
                    "type": "service_http",
                    "authorization_type": "bearer",
                    "verification_tokens": {"marketplace": "mkpv_ours"},
                }
            ),
            expected_verification_token="mkpv_ours",
        ),
    ),
    "auth.verification_tokens.marketplace_missing": (
        "warning",
        lambda: validate(
            manifest(
                auth={
                    "type": "service_http",
                    "authorization_type": "bearer",
                    "verification_tokens": {"openai": "someone-elses"},
                }
            ),
            expected_verification_token="mkpv_ours",
        ),
    ),
    "openplugin.extension.wrong_type": (
        "error",
        lambda: validate_openplugin(spec(**{"x-openplugin": ["name"]})),
    ),
    "openplugin.name.missing": (
        "warning",
        lambda: validate_openplugin(spec(**{"x-openplugin": {"description": "d"}})),
    ),
    "openplugin.identity.missing": (
        "error",
        lambda: validate_openplugin(spec(info={"version": "1"})),
    ),
    "openplugin.bootstrap.wrong_type": (
        "error",
        lambda: validate_openplugin(_op_spec(operation(**{"x-bootstrap": "yes"}))),
    ),
    "openplugin.bootstrap.value_wrong_type": (
        "error",
        lambda: validate_openplugin(
            _op_spec(
                operation(
                    parameters=[{"name": "t", "in": "query", "schema": {}, "x-bootstrap-value": 3}]
                )
            )
        ),
    ),
    "openplugin.dependent.invalid": (
        "error",
        lambda: validate_openplugin(_op_spec(_dependent("findCity"))),
    ),
    "openplugin.lookup.invalid": (
        "error",
        lambda: validate_openplugin(
            _op_spec(operation(responses=_lookup_schema({"method": "get"})))
        ),
    ),
    "openplugin.lookup.unknown_parameter": (
        "warning",
        lambda: validate_openplugin(
            _op_spec(
                operation(
                    responses=_lookup_schema(
                        {"path": "/a", "method": "get", "parameter": "$request.query.nope"}
                    )
                )
            )
        ),
    ),
    "openplugin.chain.invalid": (
        "error",
        lambda: validate_openplugin(openplugin_spec(**{"x-output-modules": [_chain([])]})),
    ),
    "openplugin.extension.malformed": (
        "warning",
        lambda: validate_openplugin(_op_spec(operation(**{"x-human-usage-examples": "say hi"}))),
    ),
    "openapi.ref.unsupported": (
        "error",
        lambda: validate(
            spec_doc=spec(
                paths={"/a": {"get": operation(requestBody={"$ref": "ftp://example.com/b"})}}
            )
        ),
    ),
    "openapi.ref.bundle_unreadable": (
        "warning",
        lambda: validate(
            spec_doc=spec(
                paths={"/a": {"get": operation(requestBody={"$ref": "https://example.com/b.json"})}}
            ),
            bundled_refs={"https://example.com/b.json": b"<html>nope</html>"},
        ),
    ),
}

# Codes that cannot be produced from bytes that went through plugins.validation.parsing (it already
# returns JSON types with string keys and bounded nesting); kept for other callers.
UNREACHABLE_FROM_BYTES = {"openapi.keys.non_string", "openapi.values.non_json", "openapi.too_deep"}


@pytest.mark.parametrize("code", sorted(CASES))
def test_it_reports_each_rule_with_its_severity(code):
    severity, run = CASES[code]
    report = run()
    assert code in codes(report, severity), sorted(codes(report))
    assert "internal.error" not in codes(report)


def test_every_registered_code_has_a_test_case(request):
    """Each declared code is asserted by name in a test module (this table included)."""
    from pathlib import Path

    here = Path(__file__).parent
    text = "\n".join(p.read_text() for p in here.glob("test_*.py"))
    missing = [
        code
        for code in all_codes()
        if code not in CASES
        and code not in UNREACHABLE_FROM_BYTES
        and not code.endswith(".*")
        and f'"{code}"' not in text
        and not code.startswith("document.")
    ]
    assert missing == []


def test_it_warns_when_the_strict_validator_fails_on_an_odd_document(monkeypatch):
    from plugins.validation import spec_validator

    def failing(validator):
        raise KeyError("responses")
        yield

    monkeypatch.setattr(spec_validator, "_errors", failing)
    spec_validator.clear_cache()
    report = validate(spec_doc=spec(info={"title": "odd", "version": "2"}))
    assert report.passed
    assert "openapi.strict.aborted" in codes(report, "warning")
