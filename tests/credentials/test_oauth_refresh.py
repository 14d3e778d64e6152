"""Refreshing tokens against a real authorization server: rotation, serialisation, failures."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from accounts.models import AuditEvent
from plugins import vault
from plugins.credentials import (
    CredentialUnavailable,
    NeedsReconnect,
    force_refresh,
    resolve_credential,
)
from plugins.credentials.models import ConnectionState
from plugins.credentials.oauth import protocol
from plugins.credentials.oauth.config import provider_config
from tests.credentials.helpers import connection_of, expire_access_token


def _refresh_token(connection) -> str:
    return vault.open_sealed(
        connection.sealed_refresh_token, context=connection.vault_context("refresh_token")
    )


def test_it_refreshes_an_expiring_token_and_saves_the_rotated_refresh_token(make_world, alice):
    world = make_world(rotate=True)
    world.connect(alice)
    before = connection_of(world.installation, alice)
    old_access = resolve_credential(installation=world.installation, user=alice)
    old_refresh = _refresh_token(before)
    expire_access_token(world.installation, alice)

    fresh = resolve_credential(installation=world.installation, user=alice)

    after = connection_of(world.installation, alice)
    assert fresh.headers["Authorization"] != old_access.headers["Authorization"]
    assert _refresh_token(after) != old_refresh
    assert after.generation == before.generation + 1
    assert after.last_refreshed_at is not None
    assert after.state == ConnectionState.CONNECTED
    assert world.server.token_requests() == 2  # the code exchange and one refresh


def test_it_keeps_the_refresh_token_when_the_provider_does_not_rotate_it(make_world, alice):
    world = make_world(rotate=False)
    world.connect(alice)
    old_refresh = _refresh_token(connection_of(world.installation, alice))
    expire_access_token(world.installation, alice)
    resolve_credential(installation=world.installation, user=alice)
    assert _refresh_token(connection_of(world.installation, alice)) == old_refresh
    expire_access_token(world.installation, alice)
    resolve_credential(installation=world.installation, user=alice)
    assert world.server.token_requests() == 3


def test_a_token_with_time_left_is_used_without_asking_the_provider(make_world, alice):
    world = make_world()
    world.connect(alice)
    for _ in range(5):
        resolve_credential(installation=world.installation, user=alice)
    assert world.server.token_requests() == 1


def test_a_401_forces_one_refresh_and_a_stale_401_does_not_force_another(make_world, alice):
    world = make_world()
    world.connect(alice)
    rejected = resolve_credential(installation=world.installation, user=alice)
    renewed = force_refresh(installation=world.installation, user=alice, rejected=rejected)
    assert renewed.headers["Authorization"] != rejected.headers["Authorization"]
    assert renewed.generation == rejected.generation + 1
    # A second caller that saw the same 401 with the old token gets the new one, no new request.
    again = force_refresh(installation=world.installation, user=alice, rejected=rejected)
    assert again.headers == renewed.headers
    assert world.server.token_requests() == 2


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_calls_with_an_expired_token_make_exactly_one_refresh(make_world, alice):
    world = make_world(rotate=True)
    world.connect(alice)
    expire_access_token(world.installation, alice)
    assert world.server.token_requests() == 1
    results, failures = [], []
    start = threading.Barrier(50)

    def call():
        try:
            start.wait(timeout=30)
            results.append(resolve_credential(installation=world.installation, user=alice))
        except Exception as exc:  # reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert not failures, failures[:3]
    assert len(results) == 50
    assert world.server.token_requests() == 2  # counted at the provider
    assert len({r.headers["Authorization"] for r in results}) == 1
    assert connection_of(world.installation, alice).state == ConnectionState.CONNECTED


def test_invalid_grant_on_refresh_needs_reconnect_and_fails_fast(make_world, alice):
    world = make_world()
    world.connect(alice)
    expire_access_token(world.installation, alice)
    world.server.inject("invalid_grant")

    with pytest.raises(NeedsReconnect) as caught:
        resolve_credential(installation=world.installation, user=alice)

    assert "/oauth/start/" in caught.value.action_url
    assert caught.value.http_status == 424
    connection = connection_of(world.installation, alice)
    assert connection.state == ConnectionState.NEEDS_RECONNECT
    assert AuditEvent.objects.filter(action="oauth.needs_reconnect").count() == 1
    # Later calls fail fast: nothing more reaches the provider.
    for _ in range(3):
        with pytest.raises(NeedsReconnect):
            resolve_credential(installation=world.installation, user=alice)
    assert world.server.token_requests() == 2


def test_reusing_a_rotated_refresh_token_revokes_the_grant_and_the_broker_asks_to_reconnect(
    make_world, alice
):
    world = make_world(rotate=True)
    world.connect(alice)
    stolen = _refresh_token(connection_of(world.installation, alice))
    expire_access_token(world.installation, alice)
    resolve_credential(installation=world.installation, user=alice)  # rotates
    # Someone replays the old refresh token at the provider: it revokes the whole grant.
    with pytest.raises(protocol.TokenError) as replay:
        protocol.refresh(provider_config(installation=world.installation), refresh_token=stolen)
    assert replay.value.kind == "invalid_grant"

    expire_access_token(world.installation, alice)
    with pytest.raises(NeedsReconnect):
        resolve_credential(installation=world.installation, user=alice)
    assert connection_of(world.installation, alice).state == ConnectionState.NEEDS_RECONNECT


def test_reconnecting_recovers_a_connection_that_needed_it(make_world, alice):
    world = make_world()
    world.connect(alice)
    expire_access_token(world.installation, alice)
    world.server.inject("invalid_grant")
    with pytest.raises(NeedsReconnect):
        resolve_credential(installation=world.installation, user=alice)
    world.connect(alice)
    assert connection_of(world.installation, alice).state == ConnectionState.CONNECTED
    assert resolve_credential(installation=world.installation, user=alice).headers
    assert AuditEvent.objects.filter(action="oauth.reconnected").count() == 1


@pytest.mark.parametrize("fault", ["status500", "html", "huge", "no_access_token"])
def test_a_failing_provider_puts_the_connection_in_cooldown(make_world, alice, fault):
    world = make_world()
    world.connect(alice)
    expire_access_token(world.installation, alice)
    world.server.inject(fault)

    with pytest.raises(CredentialUnavailable) as caught:
        resolve_credential(installation=world.installation, user=alice)

    assert caught.value.http_status == 503
    assert caught.value.retry_after > 0
    connection = connection_of(world.installation, alice)
    assert connection.state == ConnectionState.ERROR
    assert connection.failures_today == 1
    assert connection.last_error
    # In the cooldown nothing reaches the provider.
    with pytest.raises(CredentialUnavailable):
        resolve_credential(installation=world.installation, user=alice)
    assert world.server.token_requests() == 2


def test_a_refresh_that_fails_before_expiry_keeps_using_the_current_token(make_world, alice):
    from datetime import timedelta

    from django.core.cache import cache
    from django.utils import timezone

    from plugins.credentials import cache as credential_cache

    world = make_world()
    world.connect(alice)
    connection = connection_of(world.installation, alice)
    connection.expires_at = timezone.now() + timedelta(seconds=60)  # inside the margin
    connection.save(update_fields=["expires_at"])
    cache.delete(credential_cache.oauth_key(world.installation.pk, alice.pk))
    world.server.inject("status500")

    credential = resolve_credential(installation=world.installation, user=alice)

    assert credential.headers["Authorization"].startswith("Bearer ")
    assert connection_of(world.installation, alice).state == ConnectionState.ERROR


def test_the_cooldown_ends_and_a_working_refresh_recovers_the_connection(make_world, alice):
    from datetime import timedelta

    from django.core.cache import cache
    from django.utils import timezone

    from plugins.credentials import cache as credential_cache

    world = make_world()
    world.connect(alice)
    expire_access_token(world.installation, alice)
    world.server.inject("status500")
    with pytest.raises(CredentialUnavailable):
        resolve_credential(installation=world.installation, user=alice)
    connection = connection_of(world.installation, alice)
    connection.retry_after = timezone.now() - timedelta(seconds=1)
    connection.save(update_fields=["retry_after"])
    cache.delete(credential_cache.oauth_key(world.installation.pk, alice.pk))

    assert resolve_credential(installation=world.installation, user=alice).headers
    connection = connection_of(world.installation, alice)
    assert connection.state == ConnectionState.CONNECTED
    assert connection.last_error == ""


def test_a_dead_provider_is_tried_at_most_the_daily_budget(make_world, alice):
    from datetime import timedelta

    from django.core.cache import cache
    from django.utils import timezone

    from plugins.credentials import cache as credential_cache
    from plugins.credentials.oauth.connections import DAILY_BUDGET

    world = make_world()
    world.connect(alice)
    expire_access_token(world.installation, alice)
    world.server.inject(*["status500"] * (DAILY_BUDGET + 5))
    for _ in range(DAILY_BUDGET + 5):
        connection = connection_of(world.installation, alice)
        if connection.retry_after and connection.retry_after > timezone.now() + timedelta(hours=2):
            break
        connection.retry_after = None if connection.state != "error" else timezone.now()
        connection.save(update_fields=["retry_after"])
        cache.delete(credential_cache.oauth_key(world.installation.pk, alice.pk))
        with pytest.raises(CredentialUnavailable):
            resolve_credential(installation=world.installation, user=alice)
    connection = connection_of(world.installation, alice)
    assert connection.failures_today == DAILY_BUDGET
    assert world.server.token_requests() == 1 + DAILY_BUDGET
    assert connection.retry_after.date() > timezone.now().date()


@pytest.mark.django_db(transaction=True)
def test_without_redis_the_row_lock_serialises_refreshes(make_world, alice, settings):
    """`make run` has no Redis: SELECT … FOR UPDATE on the connection does the locking."""
    settings.REDIS_URL = ""
    world = make_world(rotate=True)
    world.connect(alice)
    expire_access_token(world.installation, alice)
    results, failures = [], []
    start = threading.Barrier(8)

    def call():
        try:
            start.wait(timeout=30)
            results.append(resolve_credential(installation=world.installation, user=alice))
        except Exception as exc:  # reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not failures, failures[:3]
    assert world.server.token_requests() == 2
    assert len({r.headers["Authorization"] for r in results}) == 1


def test_a_refresh_that_ends_after_a_reconnect_keeps_the_reconnects_tokens(make_world, alice):
    from plugins.credentials.oauth.refresh import _refresh

    world = make_world()
    world.connect(alice)
    stale = connection_of(world.installation, alice)  # what an in-flight refresh had read
    world.connect(alice)  # the user reconnects meanwhile
    reconnected = resolve_credential(installation=world.installation, user=alice)

    entry = _refresh(stale)

    assert entry["generation"] == reconnected.generation
    again = resolve_credential(installation=world.installation, user=alice)
    assert again.headers == reconnected.headers
    assert connection_of(world.installation, alice).state == ConnectionState.CONNECTED
