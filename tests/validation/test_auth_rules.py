"""Auth blocks: each type has what it needs (errors), platform tokens are optional (warning)."""

import pytest

from tests.validation.helpers import (
    codes,
    finding,
    manifest,
    openplugin_spec,
    operation,
    spec,
    validate,
    validate_openplugin,
)

OAUTH = {
    "type": "oauth",
    "client_url": "https://example.com/oauth/authorize",
    "authorization_url": "https://example.com/oauth/token",
    "scope": "",
    "authorization_content_type": "application/x-www-form-urlencoded",
    "verification_tokens": {"openai": "abc"},
}


def test_it_accepts_oauth_with_an_empty_scope_and_a_third_party_idp():
    auth = {**OAUTH, "client_url": "https://accounts.google.com/o/oauth2/auth"}
    report = validate(manifest(auth=auth))
    assert report.passed
    assert report.findings == ()
    assert report.plugin["auth"]["type"] == "oauth"
    assert report.plugin["auth"]["scope"] == ""


@pytest.mark.parametrize("field", ["client_url", "authorization_url"])
def test_it_rejects_oauth_without_its_urls(field):
    auth = {k: v for k, v in OAUTH.items() if k != field}
    f = finding(validate(manifest(auth=auth)), "auth.field.missing")
    assert (f.severity, f.pointer) == ("error", f"/auth/{field}")


def test_it_rejects_oauth_urls_that_are_placeholders():
    auth = {**OAUTH, "client_url": "e.g. https://<your domain>/oauth/v2/authorize"}
    assert "auth.url.invalid" in codes(validate(manifest(auth=auth)), "error")


def test_it_rejects_an_unknown_oauth_content_type():
    auth = {**OAUTH, "authorization_content_type": "text/plain"}
    assert "auth.oauth.content_type.unknown" in codes(validate(manifest(auth=auth)), "error")


def test_it_warns_about_oauth_without_verification_tokens():
    auth = {k: v for k, v in OAUTH.items() if k != "verification_tokens"}
    report = validate(manifest(auth=auth))
    assert report.passed
    assert "auth.verification_tokens.missing" in codes(report, "warning")


@pytest.mark.parametrize("kind", ["service_http", "user_http"])
def test_it_rejects_http_auth_without_authorization_type(kind):
    report = validate(manifest(auth={"type": kind, "verification_tokens": {"openai": "x"}}))
    assert "auth.field.missing" in codes(report, "error")


def test_it_rejects_an_authorization_type_other_than_bearer_or_basic():
    auth = {
        "type": "service_http",
        "authorization_type": "digest",
        "verification_tokens": {"openai": "x"},
    }
    assert "auth.authorization_type.unknown" in codes(validate(manifest(auth=auth)), "error")


def test_it_accepts_service_http_basic():
    auth = {
        "type": "service_http",
        "authorization_type": "basic",
        "verification_tokens": {"openai": "x", "nasadata": "y"},
    }
    report = validate(manifest(auth=auth))
    assert report.passed
    assert report.plugin["auth"]["verification_tokens"] == {"openai": "x", "nasadata": "y"}


def test_it_rejects_an_unknown_auth_type():
    assert "auth.type.unknown" in codes(validate(manifest(auth={"type": "magic"})), "error")


def test_it_rejects_an_auth_block_without_type():
    assert "auth.type.missing" in codes(validate(manifest(auth={})), "error")


def test_it_reads_x_plugin_auth_in_camel_case_and_snake_case():
    camel = openplugin_spec(
        **{
            "x-plugin-auth": {
                "type": "oauth",
                "clientUrl": "https://example.com/a",
                "authorizationUrl": "https://example.com/t",
                "scope": "read",
                "authorizationContentType": "application/json",
                "tokenValidationUrl": "https://example.com/v",
            }
        }
    )
    snake = openplugin_spec(
        **{
            "x-plugin-auth": {
                "type": "oauth",
                "client_url": "https://example.com/a",
                "authorization_url": "https://example.com/t",
                "scope": "read",
                "authorization_content_type": "application/json",
                "token_validation_url": "https://example.com/v",
            }
        }
    )
    a, b = validate_openplugin(camel), validate_openplugin(snake)
    assert a.passed
    assert b.passed
    assert a.plugin["auth"] == b.plugin["auth"]
    assert a.plugin["auth"]["token_validation_url"] == "https://example.com/v"


def test_it_rejects_x_plugin_auth_missing_what_its_type_needs():
    doc = openplugin_spec(**{"x-plugin-auth": {"type": "user_http"}})
    f = finding(validate_openplugin(doc), "auth.field.missing")
    assert (f.document, f.pointer) == ("openapi", "/x-plugin-auth/authorization_type")


BEARER = {"token": {"type": "http", "scheme": "bearer"}}
SCHEMAS = {"Todos": {"type": "array", "items": {"type": "string"}}}


def secured_spec(schemes: dict, *, security=None, op_security=...) -> dict:
    op = operation() if op_security is ... else operation(security=op_security)
    doc = spec(
        paths={"/todos": {"get": op}},
        components={"schemas": SCHEMAS, "securitySchemes": schemes},
    )
    if security is not None:
        doc["security"] = security
    return doc


def test_it_warns_when_auth_none_meets_a_spec_that_demands_a_bearer_token():
    report = validate(manifest(), secured_spec(BEARER, security=[{"token": []}]))

    f = finding(report, "auth.security_mismatch")
    assert (f.severity, f.document, f.pointer) == ("warning", "manifest", "/auth/type")
    assert "HTTP bearer token" in f.message
    assert "1 of 1" in f.message
    assert report.passed  # a warning: the store never checked it


def test_it_reads_per_operation_security_over_the_top_level():
    optional = secured_spec(BEARER, security=[{"token": []}], op_security=[])
    either = secured_spec(BEARER, security=[{"token": []}, {}])
    per_operation = secured_spec(BEARER, op_security=[{"token": []}])

    assert "auth.security_mismatch" not in codes(validate(manifest(), optional))
    assert "auth.security_mismatch" not in codes(validate(manifest(), either))
    assert "auth.security_mismatch" in codes(validate(manifest(), per_operation))


def test_it_accepts_matching_auth():
    service = {
        "type": "service_http",
        "authorization_type": "bearer",
        "verification_tokens": {"openai": "x"},
    }
    api_key = {"key": {"type": "apiKey", "in": "header", "name": "Authorization"}}

    for schemes in (BEARER, api_key):
        name = next(iter(schemes))
        report = validate(manifest(auth=service), secured_spec(schemes, security=[{name: []}]))
        assert "auth.security_mismatch" not in codes(report)
    unsecured = validate(manifest(auth=service), spec())
    assert "auth.security_mismatch" not in codes(unsecured)


def test_it_warns_when_the_kinds_disagree():
    basic = {"type": "user_http", "authorization_type": "basic"}
    oauth_spec = secured_spec({"o": {"type": "oauth2", "flows": {}}}, security=[{"o": []}])

    f = finding(validate(manifest(auth=basic), oauth_spec), "auth.security_mismatch")
    assert "user_http" in f.message
    assert "OAuth" in f.message


def test_it_compares_x_plugin_auth_in_an_openplugin_spec():
    doc = openplugin_spec(
        security=[{"token": []}],
        components={"schemas": SCHEMAS, "securitySchemes": BEARER},
    )
    doc["x-plugin-auth"] = {"type": "none"}

    f = finding(validate_openplugin(doc), "auth.security_mismatch")
    assert (f.document, f.pointer) == ("openapi", "/x-plugin-auth/type")
