"""URL forms an attacker might submit: each must be refused before or at connect time."""

import httpx
import pytest

from plugins.outbound import FetchError, fetch, precheck_url
from plugins.outbound.urls import vet_url


def refusal(url: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, timeout=2)
    return caught.value


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/manifest.json",
        "gopher://127.0.0.1:70/_GET%20/",
        "data:text/plain,hello",
        "dict://127.0.0.1:11211/stat",
        "javascript:alert(1)",
        "example.com/manifest.json",
    ],
)
def test_it_refuses_non_http_schemes(url):
    assert refusal(url).code == "outbound.scheme_not_allowed"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:80\\@evil.com/",  # SECURITY.md pitfall 7
        "http://evil.com\\@127.0.0.1/",
        "http://user:pass@example.com/",
        "http://user@example.com/",
        "http://@example.com/",
        "http://exa mple.com/",
        "http://example.com/a b",
        "http://example.com/\n",
        "http://exa\tmple.com/",
        "http://example.com/\x00",
        "http://example.com/\x7f",
        "http:///path",
        "http://:80/",
        "http://example.com:0/",
        "http://example.com:65536/",
        "http://127.0.0.%31/",
        "http://[fe80::1%25eth0]/",
        "",
        "http://" + "a" * 5000 + ".com/",
    ],
)
def test_it_refuses_malformed_urls(url):
    assert refusal(url).code == "outbound.invalid_url"


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",  # decimal
        "http://0x7f.1/",  # hex + short form
        "http://0x7f000001/",
        "http://0177.0.0.1/",  # octal
        "http://127.1/",  # short form
        "http://0/",
        "http://127.0.0.1./",
    ],
)
def test_it_refuses_lenient_ipv4_forms(url):
    # Also caught at connect time on the resolved address: see test_transport.py.
    assert refusal(url).code == "outbound.invalid_url"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::1]/",
        "http://[::]/",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://100.64.0.1/",
        "http://10.0.0.1/",
        "http://192.168.0.1/",
        "http://[fd00::1]/",
        "http://[64:ff9b::7f00:1]/",  # NAT64
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",  # 6to4
        "http://[::127.0.0.1]/",  # IPv4-compatible
        "http://224.0.0.1/",
    ],
)
def test_it_refuses_private_and_special_addresses(url):
    error = refusal(url)
    assert error.code == "outbound.address_blocked"
    assert error.transient is False


def test_it_requires_https_when_configured(settings):
    settings.MARKETPLACE_REQUIRE_HTTPS = True
    assert refusal("http://example.com/manifest.json").code == "outbound.https_required"


def test_it_requires_https_on_redirect_targets_too(settings):
    settings.MARKETPLACE_REQUIRE_HTTPS = True
    with pytest.raises(FetchError) as caught:
        vet_url("http://example.com/next", base=httpx.URL("https://example.com/start"))
    assert caught.value.code == "outbound.https_required"


def test_a_url_vetted_before_is_still_held_to_the_https_rule_of_the_moment(settings):
    settings.MARKETPLACE_REQUIRE_HTTPS = False
    assert str(vet_url("http://plugin.example/op")) == "http://plugin.example/op"
    settings.MARKETPLACE_REQUIRE_HTTPS = True
    assert refusal("http://plugin.example/op").code == "outbound.https_required"


def test_urls_with_a_query_are_vetted_each_time_and_never_kept():
    from plugins.outbound.urls import _vet_cached

    before = _vet_cached.cache_info().currsize
    assert str(vet_url("https://plugin.example/op?api_key=s3cret")).endswith("?api_key=s3cret")
    assert _vet_cached.cache_info().currsize == before


def test_it_resolves_relative_redirect_targets_against_the_current_url():
    target = vet_url("../b?x=1#frag", base=httpx.URL("https://example.com/a/c"))
    assert str(target) == "https://example.com/b?x=1"


def test_it_accepts_ordinary_urls():
    url = vet_url("HTTPS://Plugins.Example.com:8443/.well-known/ai-plugin.json?v=1")
    assert url.host == "plugins.example.com"
    assert url.port == 8443


def test_it_accepts_international_domain_names():
    assert vet_url("https://bücher.example/").raw_host == b"xn--bcher-kva.example"


def test_it_never_echoes_the_url_in_the_error_message():
    secret = "sk-canary-5b1e"
    error = refusal(f"http://user:{secret}@example.com/")
    assert secret not in error.message
    assert secret not in repr(error)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://169.254.169.254/latest/meta-data/", "outbound.address_blocked"),
        ("http://[::ffff:10.0.0.1]/", "outbound.address_blocked"),
        ("http://127.0.0.1:80\\@evil.com/", "outbound.invalid_url"),
        ("ftp://example.com/", "outbound.scheme_not_allowed"),
    ],
)
def test_precheck_refuses_without_touching_the_network(url, code):
    with pytest.raises(FetchError) as caught:
        precheck_url(url)
    assert caught.value.code == code


def test_precheck_honours_the_allowlist_for_ip_literals():
    assert precheck_url("http://127.0.0.1:8150/x#y") == "http://127.0.0.1:8150/x"
    with pytest.raises(FetchError):
        precheck_url("http://127.0.0.1:8080/")


def test_precheck_leaves_host_names_to_the_fetch():
    assert precheck_url("https://plugin.example/") == "https://plugin.example/"
