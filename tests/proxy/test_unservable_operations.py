"""Operations the validated spec can't serve (here: a request body whose schema has a `$ref`
pointing at nothing) are disabled with the reason, everywhere: the lookup API lists them under
`unavailable` with code `not_servable`, the console's installation page shows the reason, and
the proxy refuses a call with it before anything goes upstream."""

from __future__ import annotations

import html

import pytest

from plugins.installations.services import install_plugin, set_allow_list
from tests.proxy.conftest import call, publish_version
from tests.tools.specs import data_plugin_spec

MISSING = "#/components/schemas/Missing"


@pytest.fixture
def broken_install(acme, alice, bob, upstream):
    spec = data_plugin_spec(upstream.url)
    query = spec["components"]["schemas"]["SqlQuery"]["properties"]
    query["filters"] = {"type": "array", "items": {"$ref": MISSING}}
    version = publish_version(acme, spec, base=upstream.url)  # passes: a broken ref is a warning
    installation = install_plugin(organization=acme, version=version, installed_by=alice)
    # `database` is guarded only by the operation that can't be served: not a guarded
    # parameter of this installation, so an allow-list can't name it
    set_allow_list(
        installation=installation, member=bob, values={"container": ["events"]}, changed_by=alice
    )
    return installation


def test_the_proxy_refuses_it_with_the_reason(broken_install, bob_api, upstream):
    response = call(bob_api, broken_install, "querySqlDatabase", {"database": "sales"})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "proxy.operation_not_servable"
    assert MISSING in error["message"]
    assert upstream.connections == 0
    assert call(bob_api, broken_install, "listTables", {}).status_code == 200


def test_the_lookup_api_lists_it_as_not_servable_not_as_a_tool(broken_install, bob_api):
    (entry,) = bob_api.get("/api/v1/installed-plugins/").json()
    assert [op["operation"] for op in entry["operations"]] == ["queryCosmosDb", "listTables"]
    assert all("querySqlDatabase" not in t["function"]["name"] for t in entry["tools"])
    (unavailable,) = entry["unavailable"]
    assert unavailable["operation"] == "querySqlDatabase"
    assert unavailable["code"] == "not_servable"
    assert MISSING in unavailable["reason"]


def test_the_console_shows_the_reason(broken_install, web_as, alice):
    page = web_as(alice).get(f"/o/acme/installations/{broken_install.pk}/").content.decode()
    assert "querySqlDatabase" in page
    assert MISSING in html.unescape(page)
