"""The call endpoint caches who is calling (token, member, installation, policy) per process.
Every change to any of it applies to the very next call: each test first shows the caller's
context is cached, then changes one thing and calls again at once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiCredential, CredentialKind, Membership, Role
from accounts.services import change_role, issue_credential, remove_member, revoke_credential
from plugins.installations.services import set_allow_list, update_installation
from plugins.proxy.context import contexts
from tests.proxy.conftest import call

QUERY = {"database": "sales", "question": "how many?"}


@pytest.fixture
def bob_token(acme, bob):
    return issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="t", created_by=bob, user=bob
    )


def client_for(token: str, **headers) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}", **headers})


def warm(client, installation, token: str, on_behalf_of: str = "") -> None:
    assert call(client, installation, "querySqlDatabase", QUERY).status_code == 200
    key = contexts.key(token, installation.pk, on_behalf_of)
    assert contexts.get(key) is not None, "context not cached"


def test_a_revoked_token_is_refused_on_the_next_call(data_install, bob_token, alice, upstream):
    credential, token = bob_token
    client = client_for(token)
    warm(client, data_install, token)
    revoke_credential(credential=credential, revoked_by=alice)
    response = call(client, data_install, "querySqlDatabase", QUERY)
    assert response.status_code == 401
    assert len(upstream.seen) == 1


def test_an_expired_token_is_refused_from_its_expiry(data_install, acme, bob, upstream):
    # Expiry is time passing, not a change anyone saves: the cached context carries it.
    _, token = issue_credential(
        organization=acme,
        kind=CredentialKind.PERSONAL,
        name="short",
        created_by=bob,
        user=bob,
        expires_at=timezone.now() + timedelta(seconds=3),
    )
    client = client_for(token)
    warm(client, data_install, token)  # cached for CONTEXT_TTL (5 s): past the expiry
    credential = ApiCredential.objects.get(name="short")
    time.sleep(max(0.0, (credential.expires_at - timezone.now()).total_seconds()) + 0.1)
    assert call(client, data_install, "querySqlDatabase", QUERY).status_code == 401
    assert len(upstream.seen) == 1


def test_a_removed_member_is_refused_on_the_next_call(data_install, acme, bob, alice, upstream):
    _, org_token = issue_credential(
        organization=acme,
        kind=CredentialKind.ORGANIZATION,
        name="orchestrator",
        created_by=alice,
        role=Role.MEMBER,
    )
    client = client_for(org_token, **{"X-On-Behalf-Of": bob.email})
    warm(client, data_install, org_token, bob.email)
    remove_member(membership=Membership.objects.get(organization=acme, user=bob), removed_by=alice)
    response = call(client, data_install, "querySqlDatabase", QUERY)
    assert response.status_code in (403, 404)
    assert len(upstream.seen) == 1


def test_a_deactivated_user_is_refused_on_the_next_call(data_install, bob_token, bob, upstream):
    _, token = bob_token
    client = client_for(token)
    warm(client, data_install, token)
    bob.is_active = False
    bob.save()
    assert call(client, data_install, "querySqlDatabase", QUERY).status_code == 401


def test_a_role_change_reloads_the_context(data_install, acme, bob, alice, bob_token):
    _, token = bob_token
    client = client_for(token)
    warm(client, data_install, token)
    before = contexts.get(contexts.key(token, data_install.pk, ""))
    change_role(
        membership=Membership.objects.get(organization=acme, user=bob),
        role=Role.ADMIN,
        changed_by=alice,
    )
    assert call(client, data_install, "querySqlDatabase", QUERY).status_code == 200
    assert (
        contexts.get(contexts.key(token, data_install.pk, "")) is not before
    )  # reloaded, not reused


def test_a_changed_allow_list_is_refused_on_the_next_call(
    data_install, bob_token, bob, alice, upstream
):
    _, token = bob_token
    client = client_for(token)
    warm(client, data_install, token)
    set_allow_list(
        installation=data_install, member=bob, values={"database": ["hr"]}, changed_by=alice
    )
    response = call(client, data_install, "querySqlDatabase", QUERY)
    assert response.status_code == 403
    assert response.json()["error"]["parameter"] == "database"
    assert len(upstream.seen) == 1


def test_a_disabled_operation_is_refused_on_the_next_call(data_install, bob_token, alice):
    _, token = bob_token
    client = client_for(token)
    warm(client, data_install, token)
    update_installation(
        installation=data_install,
        changed_by=alice,
        disabled_operations={"querySqlDatabase": "Maintenance."},
    )
    response = call(client, data_install, "querySqlDatabase", QUERY)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Maintenance."
