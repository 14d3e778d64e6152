"""Hostile callers and hostile plugins that the proxy already holds against (an adversarial
pass): each case asserts what the caller gets and what the plugin saw."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from accounts.models import CredentialKind
from accounts.services import issue_credential
from plugins.installations.selectors import toolset_of
from plugins.installations.services import install_plugin
from plugins.proxy.context import contexts
from tests.proxy.conftest import call, org_key_client, publish_version
from tests.proxy.test_hostile_calls import install_svc
from tests.proxy.test_passthrough import passthrough_mcp, served_spec
from tests.support.upstream import reply_json
from tests.tools.specs import data_plugin_spec

URL = "/api/v1/installed-plugins/"


@pytest.mark.parametrize(
    "value", ["a\r\nX-Evil: 1", "a\nb", "a\x00b", "a\u2028b", "a\x7fb"], ids=repr
)
def test_a_header_parameter_cannot_inject_a_header(acme, alice, bob, bob_api, upstream, value):
    spec = data_plugin_spec(upstream.url)
    spec["paths"]["/things"] = {
        "get": {
            "operationId": "tenantThings",
            "parameters": [{"name": "X-Tenant", "in": "header", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}},
        }
    }
    version = publish_version(acme, spec, base=upstream.url, name="hdr")
    installation = install_plugin(organization=acme, version=version, installed_by=alice)
    upstream.route("GET /things", lambda h: reply_json(h, 200, {"ok": True}))
    tool = next(t for t in toolset_of(version).tools if t.operation == "tenantThings")
    arg = tool.argument_for("header", "X-Tenant")
    response = call(bob_api, installation, "tenantThings", {arg: value})
    assert response.status_code == 422, response.content
    assert response.json()["error"]["violations"][0]["pointer"] == f"/{arg}"
    assert upstream.connections == 0
    assert call(bob_api, installation, "tenantThings", {arg: "acme"}).status_code == 200
    assert upstream.seen[0].headers["x-tenant"] == "acme"


def test_another_organizations_key_cannot_act_for_our_member(
    data_install, globex, charlie, upstream
):
    theirs = org_key_client(globex, charlie)
    response = call(theirs, data_install, "listTables", {}, **{"X-On-Behalf-Of": "bob@example.com"})
    assert response.status_code == 404
    listed = theirs.get(URL, headers={"X-On-Behalf-Of": "bob@example.com"})
    assert listed.status_code == 404  # not a member of Globex
    assert upstream.connections == 0


def test_a_deactivated_member_is_refused_however_named(data_install, acme, alice, bob, bob_api):
    ours = org_key_client(acme, alice)
    for named in ("bob@example.com", "BOB@Example.COM", "  bob@example.com  "):
        ok = call(ours, data_install, "listTables", {}, **{"X-On-Behalf-Of": named})
        assert ok.status_code == 200, (named, ok.content)
    bob.is_active = False
    bob.save()
    contexts.clear()  # the call context is cached for a few seconds by design
    for named in ("bob@example.com", "BOB@Example.COM"):
        refused = call(ours, data_install, "listTables", {}, **{"X-On-Behalf-Of": named})
        assert refused.status_code == 404
    assert call(bob_api, data_install, "listTables", {}).status_code == 401


def test_a_browser_session_alone_cannot_call(data_install, bob, web_as, upstream):
    # no cross-site form can call: the endpoint takes a bearer token, never the session cookie
    browser = web_as(bob)
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/json"):
        response = browser.post(
            f"/api/v1/installations/{data_install.pk}/operations/listTables/call",
            data=json.dumps({"arguments": {}}),
            content_type=content_type,
        )
        assert response.status_code == 401
    assert upstream.connections == 0


def test_a_plugins_cookies_and_headers_never_reach_the_caller(data_install, bob_api, upstream):
    upstream.route(
        "GET /databases",
        lambda h: h.reply(
            200,
            b"[]",
            headers={"Set-Cookie": "sessionid=planted; Path=/", "X-Debug-Token": "internal"},
        ),
    )
    called = call(bob_api, data_install, "listTables", {})
    passthrough = bob_api.get(f"/api/v1/installations/{data_install.pk}/passthrough/databases")
    for response in (called, passthrough):
        assert response.status_code == 200
        assert "Set-Cookie" not in response
        assert "sessionid" not in response.cookies
        assert "X-Debug-Token" not in response


def test_an_etag_is_never_one_format_or_members_for_another(data_install, acme, alice):
    ours = org_key_client(acme, alice)
    as_bob = {"X-On-Behalf-Of": "bob@example.com"}
    first = ours.get(URL, headers=as_bob)
    etag = first["ETag"]
    assert ours.get(URL, headers={**as_bob, "If-None-Match": etag}).status_code == 304
    other_format = ours.get(URL, {"format": "anthropic"}, headers={**as_bob, "If-None-Match": etag})
    assert other_format.status_code == 200
    alices = ours.get(URL, headers={"X-On-Behalf-Of": "alice@example.com", "If-None-Match": etag})
    assert alices.status_code == 200  # alice has no allow-list: she sees fewer operations
    assert len(alices.json()[0]["tools"]) < len(first.json()[0]["tools"])
    assert "X-On-Behalf-Of" in first["Vary"]
    assert "private" in first["Cache-Control"]


SERVICE_KEY = "svc-canary-logs-0a1b2c3d4e5f"


@pytest.mark.parametrize(
    "fault",
    [
        lambda h: h.reply(500, SERVICE_KEY.encode()),
        lambda h: h.redirect(302, f"http://169.254.169.254/?key={SERVICE_KEY}"),
        lambda h: h.reply(200, b"{not json " + SERVICE_KEY.encode()),
    ],
    ids=["upstream-500-echoing-it", "redirect-off-host", "invalid-json-echoing-it"],
)
def test_a_failing_call_with_a_service_key_logs_and_answers_no_secret(
    acme, alice, bob, bob_api, upstream, caplog, fault
):
    caplog.set_level(logging.DEBUG)
    installation = install_svc(acme, alice, bob, upstream, SERVICE_KEY)
    upstream.route("GET /databases", fault)
    response = call(bob_api, installation, "listTables", {})
    assert response.status_code == 502, response.content
    assert upstream.seen[0].headers["x-api-key"] == SERVICE_KEY
    assert SERVICE_KEY not in response.content.decode()
    assert SERVICE_KEY not in caplog.text


@pytest.fixture
def bob_token(acme, bob):
    return issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="fastmcp", created_by=bob, user=bob
    )[1]


@pytest.mark.django_db(transaction=True)
def test_a_spec_reading_client_with_hostile_values_reaches_nothing_it_may_not(
    live_server, data_install, bob_token, upstream
):
    """FastMCP's OpenAPI import on the served spec, over real HTTP: traversal, look-alike and
    query-smuggling path values are refused (by FastMCP or by us), a CR/LF in a query value
    arrives encoded, and the plugin sees only the one allowed call."""
    spec = served_spec(live_server, data_install, bob_token)

    async def scenario():
        refused = []
        async with passthrough_mcp(spec, bob_token, "data") as mcp:
            for container in ("../finance", "%2e%2e", "events?x=1#", "ev\u2024\u2024nts"):
                answer = await mcp.call_tool(
                    "queryCosmosDb", {"container": container, "question": "q"}, raise_on_error=False
                )
                refused.append(answer.is_error)
            allowed = await mcp.call_tool(
                "queryCosmosDb", {"container": "events", "question": "q\r\nX-Evil: 1"}
            )
        return refused, allowed

    refused, allowed = asyncio.run(scenario())
    assert refused == [True, True, True, True]
    assert allowed.structured_content["container"] == "events"
    (seen,) = upstream.seen
    assert seen.path == "/containers/events/query?question=q%0D%0AX-Evil%3A+1"
    assert "x-evil" not in seen.headers
