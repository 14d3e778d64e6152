"""A plugin's identity is its name_for_model plus its origin, and an origin is scheme + host +
port: the same manifest served from two ports is two plugins, never one merged into the other."""

from __future__ import annotations

import pytest

from plugins.models import Plugin
from plugins.registration import SubmissionRejected, normalize_origin
from plugins.validation.domains import origin_of
from tests.support.plugin_server import PluginServer
from tests.support.plugins import register_and_validate, serve_todo_plugin

pytestmark = pytest.mark.django_db


def test_the_same_plugin_on_two_ports_is_two_plugins(acme, alice):
    with PluginServer() as first, PluginServer() as second:
        serve_todo_plugin(first)
        serve_todo_plugin(second)

        one = register_and_validate(acme, alice, first.url("/"))
        two = register_and_validate(acme, alice, second.url("/"))

    assert one.version.plugin_id != two.version.plugin_id
    origins = set(Plugin.objects.filter(organization=acme).values_list("origin", flat=True))
    assert origins == {f"http://127.0.0.1:{first.port}", f"http://127.0.0.1:{second.port}"}


def test_the_same_plugin_on_the_same_origin_is_found_again(acme, alice, plugin_server):
    serve_todo_plugin(plugin_server)

    one = register_and_validate(acme, alice, plugin_server.url("/"))
    two = register_and_validate(acme, alice, plugin_server.url("/.well-known/ai-plugin.json"))

    assert one.version.plugin_id == two.version.plugin_id


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://api.example.com/openapi.json", "api.example.com"),
        ("https://API.example.com:443/x", "api.example.com"),
        ("https://api.example.com:8443/x", "https://api.example.com:8443"),
        ("http://api.example.com/x", "http://api.example.com:80"),
        ("http://localhost:3333/", "http://localhost:3333"),
        ("http://[::1]:8001/", "http://[::1]:8001"),
        ("ftp://example.com/", None),
    ],
)
def test_an_origin_is_scheme_host_and_port(url, origin):
    assert origin_of(url) == origin


def test_a_declared_upload_origin_takes_the_same_form():
    assert normalize_origin("api.example.com") == "api.example.com"
    assert normalize_origin("https://api.example.com/") == "api.example.com"
    assert normalize_origin("localhost:3333") == "https://localhost:3333"
    assert normalize_origin("http://localhost:8001") == "http://localhost:8001"
    assert normalize_origin("") == ""
    with pytest.raises(SubmissionRejected):
        normalize_origin("http://localhost:notaport")
