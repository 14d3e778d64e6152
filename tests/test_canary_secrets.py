"""A canary secret must never reach a response, a log line, a Celery message or Redis.

The canaries: an API token, a password and an invitation link secret; and every credential
the vault holds (service and user keys, OAuth client secrets, access and refresh tokens,
authorization codes, states, PKCE verifiers, webhook secrets). The tests drive the paths that
handle them and then search everything observable.
"""

from __future__ import annotations

import logging

import pytest
import redis
from django.conf import settings

from accounts.models import CredentialKind, Role
from accounts.services import invite_member, issue_credential
from marketplace.celery import app as celery_app

PASSWORD = "correct horse battery"  # the conftest users' password


def redis_dump() -> str:
    """Every key and value in the Redis database the tests use, as one string."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    parts = []
    for key in client.scan_iter(count=1000):
        parts.append(repr(key))
        kind = client.type(key).decode()
        if kind == "string":
            parts.append(repr(client.get(key)))
        elif kind == "list":
            parts.extend(repr(v) for v in client.lrange(key, 0, -1))
        elif kind == "hash":
            parts.extend(repr(v) for v in client.hgetall(key).items())
        elif kind == "set":
            parts.extend(repr(v) for v in client.smembers(key))
        elif kind == "zset":
            parts.extend(repr(v) for v in client.zrange(key, 0, -1))
        elif kind == "stream":  # the proxy's call events wait in one
            parts.extend(repr(v) for v in client.xrange(key))
    return "\n".join(parts)


@pytest.mark.django_db(transaction=True)
def test_no_secret_leaks_anywhere(client, web_as, alice, acme, caplog, plugin_server):
    from tests.support.plugins import serve_todo_plugin

    celery_app.control.purge()
    caplog.set_level(logging.DEBUG)
    _, token = issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="canary", created_by=alice, user=alice
    )
    _, invite_secret = invite_member(
        organization=acme, email="dave@example.com", role=Role.MEMBER, invited_by=alice
    )
    serve_todo_plugin(plugin_server)
    bodies = []

    login = client.post("/accounts/login/", {"login": alice.email, "password": PASSWORD})
    bodies.append(login.content)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    for response in (
        client.get("/api/v1/me", **auth),
        client.post(
            "/api/v1/plugins/",
            {"url": plugin_server.url("/")},
            content_type="application/json",
            **auth,
        ),
        client.get("/api/v1/plugins/", **auth),
        client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token[:-1]}x"),
        client.get("/api/v1/nope", **auth),
        web_as(alice).get("/o/acme/tokens/"),
        web_as(alice).get("/o/acme/activity/"),
        web_as(alice).get("/o/acme/members/"),
    ):
        bodies.append(response.content)
    queued = redis_dump()

    secrets = {
        "token": token,
        "token secret part": token.split("_", 2)[2],
        "password": PASSWORD,
        "invitation secret": invite_secret,
    }
    logs = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    for label, secret in secrets.items():
        for body in bodies:
            assert secret.encode() not in body, f"the {label} is in a response"
        assert secret not in logs, f"the {label} is in a log line"
        assert secret not in queued, f"the {label} is in Redis"
    assert "validate_plugin_version" in queued  # the Celery message was really there to search


@pytest.mark.django_db(transaction=True)
def test_no_credential_secret_leaks_anywhere(make_world, web_as, alice, bob, acme, caplog, serve):
    """Service keys, users' keys, OAuth client secrets, tokens, codes, states, PKCE verifiers
    and webhook secrets: sealed at rest, and nowhere observable."""
    import urllib.parse

    from django.contrib.auth import get_user_model

    from plugins import vault
    from plugins.credentials import NeedsReconnect, force_refresh, resolve_credential
    from plugins.credentials.models import OAuthConnection, OAuthFlow
    from plugins.credentials.oauth.flow import connect_url_for
    from plugins.installations.services import install_plugin
    from tests.credentials.helpers import expire_access_token
    from tests.credentials.world import CLIENT_SECRET
    from tests.installations.helpers import make_version

    celery_app.control.purge()
    caplog.set_level(logging.DEBUG)
    service_key, user_key = "svc-canary-0a1b2c3d4e5f", "usr-canary-6a7b8c9d0e1f"
    bodies = []
    web = web_as(alice)
    _, token = issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="t", created_by=alice, user=alice
    )
    api = {"HTTP_AUTHORIZATION": f"Bearer {token}", "content_type": "application/json"}

    # OAuth: connect, use, refresh, fail, webhook.
    receiver = serve({"/hook": lambda handler: handler.reply(200, b"ok")})
    created = web.post("/o/acme/webhooks/", {"url": f"{receiver.url}/hook"})
    webhook_secret = created.context["new_secret"]
    world = make_world()
    link = connect_url_for(installation=world.installation, user=alice)
    started = web.get(urllib.parse.urlsplit(link).path)
    flow = OAuthFlow.objects.get(installation=world.installation)
    verifier = vault.open_sealed(flow.sealed_verifier, context=flow.vault_context())
    callback = world.authorize(started["Location"])
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    bodies.append(web.get(world.local(callback)).content)
    first = resolve_credential(installation=world.installation, user=alice)
    connection = OAuthConnection.objects.get(installation=world.installation)
    first_refresh = vault.open_sealed(
        connection.sealed_refresh_token, context=connection.vault_context("refresh_token")
    )
    second = force_refresh(installation=world.installation, user=alice, rejected=first)
    expire_access_token(world.installation, alice)
    world.server.inject("invalid_grant")
    with pytest.raises(NeedsReconnect) as failure:
        resolve_credential(installation=world.installation, user=alice)
    bodies.append(str(failure.value.as_dict()).encode())

    # A service key and a user's key, through the API and the pages.
    service = install_plugin(
        organization=acme,
        version=make_version(acme, slug="svc", auth={"type": "service_http"}),
        installed_by=alice,
    )
    personal = install_plugin(
        organization=acme,
        version=make_version(acme, slug="usr", auth={"type": "user_http"}),
        installed_by=alice,
    )
    client_api = web_as(alice).__class__()
    bodies.append(
        client_api.put(
            f"/api/v1/plugins/{service.plugin_id}/service-credential", {"token": service_key}, **api
        ).content
    )
    bodies.append(
        web.post(f"/o/acme/installations/{personal.pk}/credentials/", {"token": user_key}).content
    )
    resolve_credential(installation=service, user=bob)
    resolve_credential(installation=personal, user=alice)
    staff = get_user_model().objects.create_superuser(email="ops@example.com", password="x" * 12)
    admin = web_as(staff)
    for path in (
        f"/api/v1/plugins/{service.plugin_id}/service-credential",
        f"/api/v1/plugins/{world.plugin.pk}/oauth-client",
        f"/api/v1/installations/{personal.pk}/credential",
        f"/api/v1/installations/{world.installation.pk}/connection",
    ):
        bodies.append(client_api.get(path, **api).content)
    for response in (
        web.get(f"/o/acme/plugins/{service.plugin_id}/credentials/"),
        web.get(f"/o/acme/plugins/{world.plugin.pk}/credentials/"),
        web.get(f"/o/acme/installations/{personal.pk}/credentials/"),
        web.get(f"/o/acme/installations/{world.installation.pk}/credentials/"),
        web.get("/o/acme/credentials/"),
        web.get("/o/acme/webhooks/"),
        web.get("/o/acme/activity/"),
        *(
            admin.get(f"/admin/credentials/{name}/")
            for name in (
                "servicecredential",
                "usercredential",
                "oauthclient",
                "oauthconnection",
                "webhook",
                "webhookdelivery",
            )
        ),
        admin.get(f"/admin/credentials/oauthconnection/{connection.pk}/change/"),
        admin.get(f"/admin/credentials/oauthclient/{world.plugin.oauth_client.pk}/change/"),
    ):
        assert response.status_code == 200, response.status_code
        bodies.append(response.content)
    queued = redis_dump()

    secrets = {
        "service key": service_key,
        "user key": user_key,
        "client secret": CLIENT_SECRET,
        "first access token": first.headers["Authorization"].split(" ", 1)[1],
        "second access token": second.headers["Authorization"].split(" ", 1)[1],
        "first refresh token": first_refresh,
        "authorization code": query["code"],
        "state": query["state"],
        "PKCE verifier": verifier,
        "webhook secret": webhook_secret,
    }
    logs = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    for label, secret in secrets.items():
        for body in bodies:
            assert secret.encode() not in body, f"the {label} is in a response"
        assert secret not in logs, f"the {label} is in a log line"
        assert secret not in queued, f"the {label} is in Redis"
    assert "deliver_webhook" in queued  # the webhook's Celery message was there to search
    assert "cred:oauth:" in queued  # and so was the hot path's cache entry
