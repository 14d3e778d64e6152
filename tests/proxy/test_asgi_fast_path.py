"""In production the call endpoint is served ahead of Django (marketplace.asgi): the same
answers, straight from the ASGI application, with a real database transaction per request."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from accounts.models import CredentialKind
from accounts.services import issue_credential
from marketplace.asgi import application
from plugins.installations.models import CallEvent
from plugins.outbound import close_loop_session
from plugins.proxy.events import drain_call_events

pytestmark = pytest.mark.django_db(transaction=True)


def post(path: str, body, headers: dict) -> httpx.Response:
    async def go():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            try:
                return await client.post(path, content=body, headers=headers)
            finally:
                await close_loop_session()

    return asyncio.run(go())


@pytest.fixture
def token(acme, bob):
    return issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="fast", created_by=bob, user=bob
    )[1]


def call_path(installation, operation: str) -> str:
    return f"/api/v1/installations/{installation.pk}/operations/{operation}/call"


def test_it_serves_calls_ahead_of_django(data_install, token, upstream):
    body = json.dumps({"arguments": {"database": "sales", "question": "how many?"}})
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    response = post(call_path(data_install, "querySqlDatabase"), body, auth)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["database"] == "sales"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["server-timing"].startswith("proxy;dur=")
    denied = post(
        call_path(data_install, "querySqlDatabase"),
        json.dumps({"arguments": {"database": "finance", "question": "how many?"}}),
        auth,
    )
    assert denied.status_code == 403
    assert len(upstream.seen) == 1
    drain_call_events()
    assert sorted(CallEvent.objects.values_list("decision", flat=True)) == ["allowed", "denied"]


def test_it_refuses_strangers_the_same_way(data_install, upstream):
    no_token = post(call_path(data_install, "listTables"), "{}", {})
    assert no_token.status_code == 401
    assert no_token.json()["error"]["code"] == "not_authenticated"
    bad = post(call_path(data_install, "listTables"), "{}", {"Authorization": "Bearer mkp_nope"})
    assert bad.status_code == 401
    assert upstream.connections == 0


def test_a_host_not_allowed_goes_to_django_which_refuses_it(data_install, token, upstream):
    async def go():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://evil.example") as c:
            return await c.post(
                call_path(data_install, "listTables"),
                content='{"arguments": {}}',
                headers={"Authorization": f"Bearer {token}"},
            )

    assert asyncio.run(go()).status_code == 400
    assert upstream.connections == 0


def test_calls_that_miss_the_context_cache_together_load_it_once(
    data_install, token, upstream, monkeypatch
):
    from plugins.proxy import fast
    from plugins.proxy.context import contexts

    loads = []
    real_load = fast._load_context

    async def counted(*args):
        loads.append(args[1])
        return await real_load(*args)

    monkeypatch.setattr(fast, "_load_context", counted)
    contexts.clear()
    body = json.dumps({"arguments": {"database": "sales", "question": "how many?"}})
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def go():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            try:
                return await asyncio.gather(
                    *(
                        client.post(
                            call_path(data_install, "querySqlDatabase"), content=body, headers=auth
                        )
                        for _ in range(12)
                    )
                )
            finally:
                await close_loop_session()

    responses = asyncio.run(go())
    assert [r.status_code for r in responses] == [200] * 12
    assert loads == [data_install.pk]
    assert len(upstream.seen) == 12
    drain_call_events()
    assert CallEvent.objects.filter(decision="allowed").count() == 12


@pytest.mark.parametrize("kind", ["service_http", "user_http"])
def test_a_cached_key_is_read_with_the_rate_limits_not_in_a_thread(
    acme, alice, bob, token, upstream, monkeypatch, kind
):
    from plugins.credentials.models import UserCredential
    from plugins.credentials.resolve import _last_noted
    from plugins.credentials.services import set_service_credential, set_user_credential
    from plugins.installations.services import install_plugin, set_allow_list
    from plugins.proxy import fast
    from tests.proxy.conftest import publish_version
    from tests.tools.specs import data_plugin_spec

    auth = {"type": kind, "authorization_type": "bearer"}
    version = publish_version(
        acme, data_plugin_spec(upstream.url), base=upstream.url, name="keyed", auth=auth
    )
    installation = install_plugin(organization=acme, version=version, installed_by=alice)
    set_allow_list(
        installation=installation, member=bob, values={"database": ["sales"]}, changed_by=alice
    )
    if kind == "service_http":
        set_service_credential(plugin=installation.plugin, token="svc-key-1", set_by=alice)
    else:
        set_user_credential(installation=installation, user=bob, token="usr-key-1")
    threaded = []
    real = fast._credential_for

    async def counted(*args):
        threaded.append(args)
        return await real(*args)

    monkeypatch.setattr(fast, "_credential_for", counted)
    _last_noted.clear()
    body = json.dumps({"arguments": {"database": "sales", "question": "how many?"}})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for _ in range(3):
        response = post(call_path(installation, "querySqlDatabase"), body, headers)
        assert response.status_code == 200, response.text
    # the first call fills the cache (and notes "last used" for a user's key); the others
    # find the sealed entry in the rate limits' round trip
    assert len(threaded) == 1
    expected = "svc-key-1" if kind == "service_http" else "usr-key-1"
    assert [seen.headers["x-api-key"] for seen in upstream.seen] == [expected] * 3
    if kind == "user_http":
        assert UserCredential.objects.get(user=bob).last_used_at is not None
    if kind == "service_http":
        set_service_credential(plugin=installation.plugin, token="svc-key-2", set_by=alice)
        response = post(call_path(installation, "querySqlDatabase"), body, headers)
        assert response.status_code == 200, response.text
        assert upstream.seen[-1].headers["x-api-key"] == "svc-key-2"  # a new key at once


def test_a_calls_context_leaves_the_versions_published_documents_unread(
    acme, alice, bob, token, upstream
):
    """The context a call loads (and caches) carries the pinned documents it uses, not the
    documents as published, the logo or the diff; a call served with it needs none of them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from plugins.installations.services import set_allow_list
    from plugins.models import PluginVersion
    from plugins.proxy.context import contexts, load_context
    from tests.proxy.conftest import install_with_service_key
    from tests.tools.specs import data_plugin_spec

    installation = install_with_service_key(
        acme, alice, data_plugin_spec(upstream.url), base=upstream.url, key="k" * 24, name="data"
    )
    set_allow_list(
        installation=installation, member=bob, values={"database": ["sales"]}, changed_by=alice
    )
    PluginVersion.objects.filter(pk=installation.version_id).update(
        raw_manifest=b"{}", raw_openapi=b"x" * 200_000, logo=b"\x89PNG", diff={"changes": []}
    )
    with CaptureQueriesContext(connection) as queries:
        context = load_context(token, installation.pk, "")
    read = " ".join(query["sql"] for query in queries.captured_queries)
    for column in ("raw_manifest", "raw_openapi", "logo", "bundled_refs", "diff", "operations"):
        assert f'"plugins_pluginversion"."{column}"' not in read, column
    assert context.policy.pin_problem is None
    contexts.clear()
    body = json.dumps({"arguments": {"database": "sales", "question": "how many?"}})
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    response = post(call_path(installation, "querySqlDatabase"), body, auth)
    assert response.status_code == 200, response.text
    # the key in the header the pinned spec names (read from its `normalized_openapi`)
    assert upstream.seen[-1].headers["x-api-key"] == "k" * 24
    drain_call_events()
