"""GET /api/v1/installed-plugins/: what an orchestrator sees, and the one policy behind it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from plugins.installations.services import install_plugin, set_allow_list, update_installation
from plugins.tools import FORMATS
from tests.proxy.conftest import call, publish_version
from tests.tools.specs import data_plugin_spec
from tests.tools.test_vendor_types import check_rendered

URL = "/api/v1/installed-plugins/"


def test_it_lists_installed_plugins_with_their_callable_operations_as_tools(data_install, bob_api):
    response = bob_api.get(URL)
    assert response.status_code == 200
    (entry,) = response.json()
    assert entry["installation_id"] == data_install.pk
    assert entry["name_for_model"] == "data"
    assert entry["version"]["content_sha256"] == data_install.version.content_sha256
    assert entry["auth_type"] == "none"
    assert entry["connection"]["state"] == "not_needed"
    names = [t["function"]["name"] for t in entry["tools"]]
    assert names == ["data__querySqlDatabase", "data__queryCosmosDb", "data__listTables"]
    database = entry["tools"][0]["function"]["parameters"]["properties"]["database"]
    assert database["enum"] == ["hr", "sales"]  # narrowed to bob's values
    operation = entry["operations"][0]
    assert operation["call_url"].endswith(
        f"/api/v1/installations/{data_install.pk}/operations/querySqlDatabase/call"
    )
    assert operation["guarded"] == {"database": "database"}
    assert entry["openapi_url"].endswith(f"/api/v1/installed-plugins/{data_install.pk}/openapi")


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_renders_every_format_the_vendor_sdks_accept(data_install, bob_api, fmt):
    response = bob_api.get(URL, {"format": fmt})
    assert response.status_code == 200
    (entry,) = response.json()
    check_rendered(fmt, entry["tools"])


def test_it_refuses_an_unknown_format(data_install, bob_api):
    assert bob_api.get(URL, {"format": "bard"}).status_code == 400


def test_it_answers_304_to_if_none_match_and_changes_etag_when_the_policy_changes(
    data_install, bob_api, bob, alice
):
    first = bob_api.get(URL)
    etag = first["ETag"]
    assert bob_api.get(URL, headers={"If-None-Match": etag}).status_code == 304
    set_allow_list(
        installation=data_install, member=bob, values={"database": ["sales"]}, changed_by=alice
    )
    changed = bob_api.get(URL, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_its_query_count_does_not_grow_with_the_number_of_plugins(
    acme, alice, bob, bob_api, upstream
):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert bob_api.get(URL).status_code == 200
        ctx_last[:] = queries.captured_queries
        return len(queries)

    ctx_last: list = []

    def add_plugins(n: int, start: int) -> None:
        for i in range(start, start + n):
            version = publish_version(
                acme, data_plugin_spec(upstream.url), base=upstream.url, name=f"data{i}"
            )
            install_plugin(organization=acme, version=version, installed_by=alice)

    add_plugins(1, 0)
    count_queries()  # the token's first use records last_used_at once
    one = count_queries()
    add_plugins(9, 1)
    count_queries()  # the new versions' tools are built (one query for all of them) once
    ten = count_queries()
    assert ten == one, "\n".join(q["sql"][:150] for q in ctx_last)
    assert len(bob_api.get(URL).json()) == 10


def test_it_filters_and_pages(acme, alice, bob_api, upstream):
    for name in ("alpha", "beta", "gamma"):
        version = publish_version(
            acme, data_plugin_spec(upstream.url), base=upstream.url, name=name
        )
        install_plugin(organization=acme, version=version, installed_by=alice)
    assert [e["name_for_model"] for e in bob_api.get(URL, {"q": "amm"}).json()] == ["gamma"]
    page = bob_api.get(URL, {"limit": 2})
    assert [e["name_for_model"] for e in page.json()] == ["alpha", "beta"]
    assert 'rel="next"' in page["Link"]
    assert [e["name_for_model"] for e in bob_api.get(URL, {"limit": 2, "offset": 2}).json()] == [
        "gamma"
    ]


@pytest.mark.parametrize("q", ["weath", "eath", "amm", "gamma", "weather forecasts", "", "!!"])
def test_its_search_is_the_catalogues(acme, alice, globex, bob_api, upstream, q):
    """`q` finds the installed plugins the catalogue's search finds: the organization's own
    plugins by their working copy (substrings), other publishers' by their reviewed listing
    (full text, the last word as a prefix)."""
    own = publish_version(acme, data_plugin_spec(upstream.url), base=upstream.url, name="gamma")
    other = publish_version(
        globex, data_plugin_spec(upstream.url), base=upstream.url, name="weather"
    )
    for version in (own, other):
        install_plugin(organization=acme, version=version, installed_by=alice)
    catalogue = {plugin["id"] for plugin in bob_api.get("/api/v1/plugins/", {"q": q}).json()}
    found = {entry["plugin_id"] for entry in bob_api.get(URL, {"q": q}).json()}
    assert found == catalogue & {own.plugin_id, other.plugin_id}
    expected = {
        "weath": {other.plugin_id},
        "eath": set(),  # not a substring match for another publisher's listing
        "amm": {own.plugin_id},
        "gamma": {own.plugin_id},
        "weather forecasts": set(),  # every word must match
        "": {own.plugin_id, other.plugin_id},
        "!!": {own.plugin_id, other.plugin_id},  # no word: nothing to filter
    }
    assert found == expected[q]


def test_an_organization_key_lists_for_the_member_it_names(data_install, org_key_api):
    response = org_key_api.get(URL, headers={"X-On-Behalf-Of": "bob@example.com"})
    assert response.status_code == 200
    assert len(response.json()[0]["tools"]) == 3
    assert org_key_api.get(URL).status_code == 403


def test_outsiders_see_nothing_of_acme(data_install, charlie_api):
    assert charlie_api.get(URL).json() == []


def test_everything_listed_is_callable_and_nothing_unlisted_is(
    data_install, bob_api, alice_api, bob, alice, upstream
):
    """The one policy: for each member and each state, the listed tools and the callable
    operations are the same set (calls made with values the listing offers)."""
    update_installation(
        installation=data_install,
        changed_by=alice,
        guarded_arguments={"question": "topic"},
        default_allowed={"question": ["sales totals"]},
    )
    set_allow_list(
        installation=data_install,
        member=bob,
        values={"database": ["sales"], "question": ["how many orders?"]},
        changed_by=alice,
    )
    examples = {
        "querySqlDatabase": lambda p: {
            "database": p["database"]["enum"][0],
            "question": p["question"]["enum"][0],
        },
        "queryCosmosDb": lambda p: {
            "container": p["container"]["enum"][0],
            "question": p["question"]["enum"][0],
        },
        "listTables": lambda p: {},
    }
    for client in (bob_api, alice_api):
        (entry,) = client.get(URL).json()
        listed = {}
        for op, tool in zip(entry["operations"], entry["tools"], strict=True):
            listed[op["operation"]] = tool["function"]["parameters"]["properties"]
        for operation, make in examples.items():
            if operation in listed:
                response = call(client, data_install, operation, make(listed[operation]))
                assert response.status_code == 200, (operation, response.content)
            else:
                response = call(client, data_install, operation, {})
                assert response.status_code == 403, (operation, response.content)
        unavailable = {u["operation"] for u in entry["unavailable"]}
        assert unavailable == set(examples) - set(listed)
    # bob: the two query operations need values he has (no container: cosmos not offered)
    (bob_entry,) = bob_api.get(URL).json()
    assert [o["operation"] for o in bob_entry["operations"]] == ["querySqlDatabase", "listTables"]
