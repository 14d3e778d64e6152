"""The check registry: small registered units, each with its codes and severities."""

import pytest

from plugins.validation import CHECKS, Severity
from plugins.validation.domains import registrable_domain, root_domain
from plugins.validation.registry import all_codes
from plugins.validation.spec_validator import RefuseAllHandlers, RetrievalRefused


def test_every_check_declares_codes_with_a_severity_and_a_docstring():
    assert len(CHECKS) >= 20
    for check in CHECKS.values():
        assert check.codes, check.name
        assert check.doc, check.name
        for code, severity in check.codes.items():
            assert severity in set(Severity) or (severity is None and code.endswith(".*"))


def test_a_code_has_one_severity_across_checks():
    seen: dict[str, object] = {}
    for check in CHECKS.values():
        for code, severity in check.codes.items():
            assert seen.setdefault(code, severity) == severity, code


def test_codes_are_namespaced():
    prefixes = ("document.", "manifest.", "openapi.", "auth.", "domains.", "openplugin.", "plugin.")
    assert all(code.startswith(prefixes) for code in all_codes())


def test_the_strict_validators_handlers_refuse_every_scheme():
    handlers = RefuseAllHandlers()
    for scheme in ("http", "https", "file", "", "ftp", "gopher"):
        assert scheme in handlers
        with pytest.raises(RetrievalRefused):
            handlers[scheme]("x://y")


@pytest.mark.parametrize(
    ("host", "root"),
    [
        ("www.klarna.com", "klarna.com"),
        ("plugin.daizy.com", "plugin.daizy.com"),
        ("WWW.Example.COM:443", "example.com"),
        ("www.com", "www.com"),
    ],
)
def test_root_domain_strips_only_a_leading_www(host, root):
    assert root_domain(host) == root


@pytest.mark.parametrize(
    ("host", "sld"),
    [
        ("api.example.com", "example.com"),
        ("shop.example.co.uk", "example.co.uk"),
        ("a.b.example.com.au", "example.com.au"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
def test_registrable_domain_handles_common_two_level_suffixes(host, sld):
    assert registrable_domain(host) == sld
