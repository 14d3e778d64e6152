"""A model that saw renamed nested property names (tools.nested) calls with them; the plugin
receives its own names, through the call endpoint and through the passthrough."""

from __future__ import annotations

import json

import pytest

from plugins.installations.services import install_plugin, set_allow_list
from tests.proxy.conftest import call, publish_version
from tests.tools.test_nested_names import REAL, SHOWN, nested_spec


@pytest.fixture
def nested_install(acme, alice, bob, upstream):
    version = publish_version(acme, nested_spec(upstream.url), base=upstream.url)
    installation = install_plugin(organization=acme, version=version, installed_by=alice)
    set_allow_list(
        installation=installation, member=bob, values={"database": ["sales"]}, changed_by=alice
    )
    return installation


def test_the_upstream_gets_the_original_nested_names(nested_install, bob_api, upstream):
    lookup = bob_api.get("/api/v1/installed-plugins/?format=anthropic").json()[0]
    (tool,) = [t for t in lookup["tools"] if t["name"] == "data__querySqlDatabase"]
    item = tool["input_schema"]["properties"]["filters"]["items"]["properties"]
    assert {"created_at", "top", "owner.id", "owner"} <= set(item)
    response = call(bob_api, nested_install, "querySqlDatabase", SHOWN)
    assert response.status_code == 200, response.content
    assert json.loads(upstream.seen[-1].body) == REAL


def test_the_passthrough_takes_the_original_names_and_sends_them_on(
    nested_install, bob_api, upstream
):
    response = bob_api.post(
        f"/api/v1/installations/{nested_install.pk}/passthrough/query",
        data=json.dumps(REAL),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert json.loads(upstream.seen[-1].body) == REAL
