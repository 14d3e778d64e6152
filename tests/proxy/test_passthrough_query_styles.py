"""Object and array query parameters by their OpenAPI style and explode, both ways: what the
proxy writes for a model's arguments, the passthrough reads back from a client's request, by
the same rules (plugins.proxy.query) — checked with a real spec-reading client (FastMCP's
OpenAPI import) calling through the served spec."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest

from accounts.models import CredentialKind
from accounts.services import issue_credential
from plugins.installations.selectors import toolset_of
from plugins.proxy.query import query_arguments, query_pairs
from tests.proxy.conftest import call
from tests.proxy.test_hostile_calls import install_with
from tests.proxy.test_passthrough import passthrough_mcp, served_spec


def query_parameter(name: str, schema: dict, **style) -> dict:
    return {"name": name, "in": "query", "schema": schema, **style}


def numbers(*names: str) -> dict:
    return {"type": "object", "properties": {n: {"type": "integer"} for n in names}}


STYLED = {
    "get": {
        "operationId": "findThings",
        "parameters": [
            query_parameter(
                "database", {"type": "string"}, required=True, **{"x-marketplace-resource": "db"}
            ),
            query_parameter(
                "filter",
                {
                    "type": "object",
                    "properties": {"status": {"type": "string"}, "min": {"type": "integer"}},
                },
                style="deepObject",
                explode=True,
            ),
            query_parameter("color", numbers("R", "G"), explode=False),
            query_parameter(
                "opts",
                {
                    "type": "object",
                    "properties": {"verbose": {"type": "boolean"}, "lang": {"type": "string"}},
                },
            ),
            query_parameter("ids", {"type": "array", "items": {"type": "string"}}, explode=False),
            query_parameter(
                "tags", {"type": "array", "items": {"type": "string"}}, style="pipeDelimited"
            ),
            query_parameter("many", {"type": "array", "items": {"type": "integer"}}),
        ],
        "responses": {"200": {"description": "OK"}},
    }
}

ARGUMENTS = {
    "database": "sales",
    "filter": {"status": "open", "min": 2},
    "color": {"R": 100, "G": 200},
    "opts": {"verbose": True, "lang": "en"},
    "ids": ["a", "b"],
    "tags": ["x", "y"],
    "many": [1, 2],
}
WRITTEN = [
    ("database", "sales"),
    ("filter[status]", "open"),
    ("filter[min]", "2"),
    ("color", "R,100,G,200"),
    ("verbose", "true"),
    ("lang", "en"),
    ("ids", "a,b"),
    ("tags", "x|y"),
    ("many", "1"),
    ("many", "2"),
]


@pytest.fixture
def styled(acme, alice, bob, upstream):
    return install_with(acme, alice, bob, upstream, STYLED, name="styled")


def sent_query(upstream) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(upstream.seen[-1].path).query, keep_blank_values=True)


def passthrough(client, installation, query: str):
    return client.get(f"/api/v1/installations/{installation.pk}/passthrough/things?{query}")


def test_the_proxy_writes_each_style(styled, bob_api, upstream):
    response = call(bob_api, styled, "findThings", ARGUMENTS)
    assert response.status_code == 200, response.content
    assert sent_query(upstream) == WRITTEN


def test_what_the_proxy_writes_reads_back_as_the_same_arguments(styled):
    tool = toolset_of(styled.version).tool("findThings")
    for arguments in (
        ARGUMENTS,
        {"database": "sales", "filter": {"min": -3}, "opts": {"verbose": False}},
        {"database": "sales", "color": {}, "ids": ["only"], "tags": ["a b"], "many": [7]},
    ):
        pairs = [
            pair
            for arg, value in arguments.items()
            for pair in query_pairs(tool, arg, tool.bindings[arg], value)
        ]
        query = parse_qs(urlencode(pairs), keep_blank_values=True)
        assert query_arguments(tool, query) == arguments


def test_the_passthrough_reads_each_style_and_sends_it_on_unchanged(styled, bob_api, upstream):
    response = passthrough(bob_api, styled, urlencode(WRITTEN))
    assert response.status_code == 200, response.content
    assert sent_query(upstream) == WRITTEN


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("filter=open", "/filter"),  # deepObject only as filter[property]
        ("filter[min]=2&filter[min]=3", "/filter/min"),
        ("filter[min]=many", "/filter/min"),  # typed by the property's schema
        ("color=R,100,G", "/color"),  # not property,value pairs
        ("color=R,1&color=G,2", "/color"),
        ("lang=en&lang=fr", "/opts/lang"),
        ("database=finance", "/database"),  # a second value for a declared parameter
        ("ids=a&ids=b&many=x", "/many/0"),
    ],
)
def test_the_passthrough_refuses_what_no_style_writes_before_anything_is_sent(
    styled, bob_api, upstream, query, pointer
):
    response = passthrough(bob_api, styled, f"database=sales&{query}")
    assert response.status_code == 422, response.content
    assert pointer in [v["pointer"] for v in response.json()["error"]["violations"]]
    assert upstream.connections == 0


def test_a_spread_object_never_stands_in_for_a_guarded_parameter(styled, bob_api, upstream):
    """A declared name is always its own parameter's: `database` can't come in as a property
    of the exploded form object, and its value still meets the allow-list."""
    refused = passthrough(bob_api, styled, "database=finance&verbose=true")
    assert refused.status_code == 403, refused.content
    assert upstream.connections == 0
    response = passthrough(bob_api, styled, "verbose=true&database=sales")
    assert response.status_code == 200, response.content
    assert sent_query(upstream) == [("verbose", "true"), ("database", "sales")]


@pytest.mark.django_db(transaction=True)
def test_a_spec_reading_client_sends_them_as_the_proxy_would(
    live_server, styled, acme, bob, upstream
):
    token = issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="fastmcp", created_by=bob, user=bob
    )[1]
    spec = served_spec(live_server, styled, token)
    assert "/things" in spec["paths"]

    async def scenario():
        async with passthrough_mcp(spec, token, "styled") as mcp:
            answer = await mcp.call_tool("findThings", ARGUMENTS)
        return answer

    answer = asyncio.run(scenario())
    assert not answer.is_error, answer.content
    assert answer.structured_content == {"ok": True}
    assert sorted(sent_query(upstream)) == sorted(WRITTEN)
