"""x-filter: the plugin's response filter runs in the sandbox before the model sees the answer."""

from __future__ import annotations

from plugins.installations.services import install_plugin
from tests.proxy.conftest import call, publish_version
from tests.tools.specs import data_plugin_spec


def chain(template: str, output_port: str = "text") -> dict:
    return {
        "name": "Filter",
        "description": "Keep the table names",
        "initial_input_port": "json",
        "finish_output_port": output_port,
        "processors": [
            {
                "input_port": "json",
                "output_port": output_port,
                "processor_type": "template_engine",
                "processor_implementation_type": "template_engine_with_jinja",
                "metadata": {"template": template},
            }
        ],
    }


def install_with_filter(acme, alice, upstream, template: str, output_port: str = "text"):
    spec = data_plugin_spec(upstream.url)
    spec["paths"]["/databases"]["get"]["x-filter"] = chain(template, output_port)
    version = publish_version(acme, spec, base=upstream.url, name="filtered")
    return install_plugin(organization=acme, version=version, installed_by=alice)


def test_it_applies_the_filter_in_the_sandbox(acme, alice, bob_api, upstream):
    installation = install_with_filter(
        acme, alice, upstream, "{% for t in data %}{{ t.name }};{% endfor %}"
    )
    response = call(bob_api, installation, "listTables", {})
    assert response.status_code == 200
    assert response.json()["text"] == "orders;users;"
    assert response.json()["data"] is None


def test_a_json_output_port_gives_data_too(acme, alice, bob_api, upstream):
    installation = install_with_filter(
        acme, alice, upstream, '{"count": {{ data|length }}}', output_port="json"
    )
    body = call(bob_api, installation, "listTables", {}).json()
    assert body["data"] == {"count": 2}


def test_a_filter_that_fails_is_a_502_not_a_crash(acme, alice, bob_api, upstream):
    installation = install_with_filter(
        acme, alice, upstream, "{% for i in range(10**9) %}{{ i }}{% endfor %}"
    )
    response = call(bob_api, installation, "listTables", {})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "proxy.filter_failed"
