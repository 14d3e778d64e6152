"""Shared fixtures: alice (admin of Acme), bob (member of Acme), charlie (outsider at Globex)."""

from __future__ import annotations

import random
import socket

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.core.cache import cache
from django.db import connections

from accounts.models import CredentialKind, Role
from accounts.services import create_organization, create_user, issue_credential
from marketplace.celery import app as celery_app
from tests.credentials.world import make_world  # noqa: F401 - an OAuth plugin and its provider
from tests.outbound.conftest import serve  # noqa: F401 - loopback HTTP servers
from tests.support.loopback import TEST_PORTS
from tests.support.plugin_server import PluginServer


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth keeps rate limits (one confirmation mail per address every few minutes, failed
    logins) in the cache, which is Redis and outlives a test: start each test with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice(db):
    return create_user(email="alice@example.com", password="correct horse battery", verified=True)


@pytest.fixture
def bob(db):
    return create_user(email="bob@example.com", password="correct horse battery", verified=True)


@pytest.fixture
def charlie(db):
    return create_user(email="charlie@example.com", password="correct horse battery", verified=True)


@pytest.fixture
def acme(alice, bob):
    from accounts.models import Membership

    org = create_organization(name="Acme", slug="acme", owner=alice)
    Membership.objects.create(organization=org, user=bob, role=Role.MEMBER)
    return org


@pytest.fixture
def globex(charlie):
    return create_organization(name="Globex", slug="globex", owner=charlie)


def _bearer(client, token):
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture
def web_as():
    """web_as(user) -> a test client logged in as the user."""
    from django.test import Client

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def api_as():
    """api_as(user, org) -> a test client that sends a fresh personal access token."""
    from django.test import Client

    def make(user, organization):
        _, token = issue_credential(
            organization=organization,
            kind=CredentialKind.PERSONAL,
            name="test",
            created_by=user,
            user=user,
        )
        return _bearer(Client(), token)

    return make


@pytest.fixture
def alice_api(acme, alice, api_as):
    return api_as(alice, acme)


@pytest.fixture
def charlie_api(globex, charlie, api_as):
    return api_as(charlie, globex)


@pytest.fixture
def plugin_server():
    """A real plugin web server on loopback (tests.support.plugin_server)."""
    with PluginServer() as server:
        yield server


@pytest.fixture
def two_slot_worker():
    """A real Celery worker with two slots (as `make run` has), consuming from Redis. Each
    task closes its thread's database connection, so none outlives the test."""
    celery_app.control.purge()
    task_postrun.connect(_close_thread_connection)
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        shutdown_timeout=30,
    ) as running:
        yield running
    task_postrun.disconnect(_close_thread_connection)
    celery_app.control.purge()


def _close_thread_connection(**kwargs):
    connections.close_all()


@pytest.fixture
def trickling():
    """A plugin server for hostile hosts: `trickling.trickle(path)` drips a document."""
    with PluginServer() as server:
        yield server


@pytest.fixture
def refusing_port():
    """A port in the test range that refuses connections for the whole test.

    The socket stays bound but never listens, so nobody else can start a server on it meanwhile.
    """
    for port in random.sample(TEST_PORTS, len(TEST_PORTS)):
        probe = socket.socket()
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            probe.close()
            continue
        with probe:
            yield port
        return
    raise RuntimeError("no free port in 8100-8199")
