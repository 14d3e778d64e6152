"""A canary secret must never reach a response, a log line, a Celery message or Redis.

The canaries: an API token, a password and an invitation link secret. The test drives the
paths that handle them (login, token issue, API calls, a registration that queues a Celery
task, failed authentication, error pages) and then searches everything observable.
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
