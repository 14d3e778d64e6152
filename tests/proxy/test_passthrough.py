"""The OpenAPI passthrough, exercised by a real client library that reads specs: FastMCP's
OpenAPI import loads the served spec (offline: it reads the dict we serve) and calls its
operations through the marketplace over real HTTP, never the plugin directly."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx2
import pytest
from fastmcp import Client, FastMCP

from accounts.models import CredentialKind
from accounts.services import issue_credential


@pytest.fixture
def bob_token(acme, bob):
    return issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="fastmcp", created_by=bob, user=bob
    )[1]


def served_spec(live_server, installation, token) -> dict:
    import urllib.request

    request = urllib.request.Request(
        f"{live_server.url}/api/v1/installed-plugins/{installation.pk}/openapi",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@contextlib.asynccontextmanager
async def passthrough_mcp(spec: dict, token: str, name: str):
    """FastMCP's OpenAPI import of the served `spec`, calling its `servers` base (the
    passthrough) over real HTTP with the member's token; yields a connected MCP client."""
    http = httpx2.AsyncClient(
        base_url=spec["servers"][0]["url"],
        headers={"Authorization": f"Bearer {token}"},
        timeout=20,
    )
    try:
        server = FastMCP.from_openapi(openapi_spec=spec, client=http, name=name)
        async with Client(server) as mcp:
            yield mcp
    finally:
        await http.aclose()


@pytest.mark.django_db(transaction=True)
def test_a_spec_reading_client_calls_through_the_passthrough(
    live_server, data_install, bob_token, upstream
):
    spec = served_spec(live_server, data_install, bob_token)
    base = spec["servers"][0]["url"]
    assert base == f"{live_server.url}/api/v1/installations/{data_install.pk}/passthrough"
    assert spec["components"]["securitySchemes"] == {
        "marketplace": {"type": "http", "scheme": "bearer"}
    }
    assert "/containers/{container}/query" in spec["paths"]

    async def scenario():
        async with passthrough_mcp(spec, bob_token, "data") as mcp:
            tools = {t.name for t in await mcp.list_tools()}
            allowed = await mcp.call_tool(
                "querySqlDatabase", {"database": "sales", "question": "how many orders?"}
            )
            denied = await mcp.call_tool(
                "querySqlDatabase",
                {"database": "finance", "question": "how many orders?"},
                raise_on_error=False,
            )
            tables = await mcp.call_tool("listTables", {})
        return tools, allowed, denied, tables

    tools, allowed, denied, tables = asyncio.run(scenario())
    assert tools == {"querySqlDatabase", "queryCosmosDb", "listTables"}
    assert allowed.structured_content["database"] == "sales"
    assert denied.is_error
    assert "not allowed" in str(denied.content)
    assert "orders" in str(tables.content)
    assert [s.path for s in upstream.seen] == ["/query", "/databases"]


def test_the_served_spec_holds_only_what_the_member_may_call(data_install, alice_api):
    # alice has no allow-list: the operations with guarded parameters are not in her copy
    spec = alice_api.get(f"/api/v1/installed-plugins/{data_install.pk}/openapi").json()
    assert list(spec["paths"]) == ["/databases"]
    assert spec["security"] == [{"marketplace": []}]


def test_anything_not_in_the_pinned_spec_is_404(data_install, bob_api, upstream):
    base = f"/api/v1/installations/{data_install.pk}/passthrough"
    assert bob_api.get(f"{base}/admin").status_code == 404
    assert bob_api.delete(f"{base}/databases").status_code == 404
    assert bob_api.get(f"{base}/databases/../query").status_code == 404
    assert upstream.connections == 0
    ok = bob_api.get(f"{base}/databases")
    assert ok.status_code == 200
    assert ok.json() == [{"name": "orders", "rows": 3}, {"name": "users", "rows": 2}]
