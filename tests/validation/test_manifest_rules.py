"""The OpenAI manifest: errors for what breaks a plugin, warnings for what the store accepted."""

import pytest

from tests.validation.helpers import codes, finding, manifest, validate


def test_it_accepts_a_clean_plugin():
    report = validate()
    assert report.passed
    assert report.findings == ()
    assert report.plugin["dialect"] == "openai-manifest"
    assert report.plugin["root_domain"] == "example.com"


def test_it_rejects_name_for_model_with_spaces():
    report = validate(manifest(name_for_model="todo list"))
    assert not report.passed
    f = finding(report, "manifest.name_for_model.invalid_chars")
    assert (f.severity, f.document, f.pointer) == ("error", "manifest", "/name_for_model")


def test_it_rejects_name_for_model_over_50_characters():
    report = validate(manifest(name_for_model="a" * 51))
    assert "manifest.name_for_model.too_long" in codes(report, "error")


def test_it_accepts_name_for_model_with_underscores_and_50_characters():
    assert validate(manifest(name_for_model="a_" * 25)).passed


@pytest.mark.parametrize(
    "field",
    [
        "name_for_model",
        "description_for_model",
        "api",
        "auth",
        "contact_email",
        "legal_info_url",
        "logo_url",
    ],
)
def test_it_rejects_a_missing_required_field(field):
    report = validate(manifest(**{field: ...}))
    f = finding(report, "manifest.field.missing")
    assert (f.severity, f.pointer) == ("error", f"/{field}")


def test_it_rejects_wrong_field_types():
    report = validate(manifest(name_for_human=42, api="https://api.example.com/openapi.yaml"))
    pointers = {f.pointer for f in report.findings if f.code == "manifest.field.wrong_type"}
    assert pointers == {"/name_for_human", "/api"}
    assert not report.passed


def test_it_rejects_an_empty_description_for_model():
    assert "manifest.field.empty" in codes(validate(manifest(description_for_model=" ")), "error")


def test_it_only_warns_about_a_blank_contact_email_like_the_store():
    report = validate(manifest(contact_email="", legal_info_url=""))
    assert report.passed
    assert "manifest.field.blank" in codes(report, "warning")


def test_it_warns_about_descriptions_over_the_documented_limits():
    report = validate(
        manifest(
            description_for_human="x" * 101,
            name_for_human="n" * 21,
            description_for_model="m" * 8001,
        )
    )
    assert report.passed
    assert {
        "manifest.description_for_human.too_long",
        "manifest.name_for_human.too_long",
        "manifest.description_for_model.too_long",
    } <= codes(report, "warning")


def test_it_warns_about_the_has_user_authentication_alias():
    api = {
        "type": "openapi",
        "url": "https://api.example.com/openapi.yaml",
        "has_user_authentication": "false",
    }
    report = validate(manifest(api=api))
    assert report.passed
    assert {"manifest.api.user_auth_alias", "manifest.api.user_auth_type"} <= codes(report)


def test_it_resolves_a_relative_api_url_against_the_origin_with_a_warning():
    report = validate(manifest(api={"type": "openapi", "url": "/openapi.yaml"}))
    assert report.passed
    assert "manifest.api.url.relative" in codes(report, "warning")
    assert report.plugin["api_url"] == "https://www.example.com/openapi.yaml"


def test_it_rejects_an_api_url_off_the_root_domain():
    report = validate(manifest(api={"type": "openapi", "url": "https://evil.test/openapi.yaml"}))
    f = finding(report, "manifest.api.url.off_domain")
    assert (f.severity, f.pointer) == ("error", "/api/url")


def test_it_accepts_an_api_url_on_a_subdomain_of_the_root_domain():
    report = validate(manifest(api={"type": "openapi", "url": "https://a.b.example.com/x.json"}))
    assert "manifest.api.url.off_domain" not in codes(report)


def test_it_rejects_an_api_url_that_only_ends_like_the_root_domain():
    report = validate(manifest(api={"type": "openapi", "url": "https://notexample.com/x.json"}))
    assert "manifest.api.url.off_domain" in codes(report, "error")


def test_it_warns_when_contact_email_and_legal_url_are_on_another_domain():
    report = validate(
        manifest(contact_email="me@gmail.com", legal_info_url="https://legal.other.org/terms")
    )
    assert report.passed
    assert {"domains.contact_email.sld_mismatch", "domains.legal_info_url.sld_mismatch"} <= codes(
        report, "warning"
    )


def test_it_skips_domain_rules_with_one_info_finding_when_the_origin_is_unknown():
    report = validate(
        manifest(
            api={"type": "openapi", "url": "https://evil.test/openapi.yaml"},
            contact_email="me@gmail.com",
        ),
        origin=None,
    )
    assert report.passed
    assert [f.code for f in report.findings if f.severity == "info"] == ["plugin.origin_unknown"]
    assert "domains.contact_email.sld_mismatch" not in codes(report)


def test_it_warns_about_an_unknown_schema_version():
    assert "manifest.schema_version.unknown" in codes(validate(manifest(schema_version="v1.2")))


def test_it_warns_about_badly_formed_urls_and_email():
    report = validate(
        manifest(
            legal_info_url="legal@example.com",
            contact_email="nobody",
            logo_url="https://example.com/logo.gif",
        )
    )
    assert report.passed
    assert {
        "manifest.legal_info_url.invalid",
        "manifest.contact_email.invalid",
        "manifest.logo_url.gif",
    } <= codes(report, "warning")


def test_it_rejects_a_manifest_without_its_openapi_document():
    from plugins.validation import PluginInput, validate_plugin
    from tests.validation.helpers import encode

    report = validate_plugin(PluginInput(manifest=encode(manifest()), origin="www.example.com"))
    assert "openapi.missing" in codes(report, "error")
    assert report.plugin is None
