"""Fixtures for the accounts tests (alice owns Acme, bob is a member there, charlie owns Globex)."""

from __future__ import annotations

import pytest

from accounts.models import CredentialKind
from accounts.services import issue_credential


@pytest.fixture
def alice_client(web_as, alice, acme):
    return web_as(alice)


@pytest.fixture
def bob_client(web_as, bob, acme):
    return web_as(bob)


@pytest.fixture
def charlie_client(web_as, charlie, globex):
    return web_as(charlie)


@pytest.fixture
def bob_membership(acme, bob):
    return acme.memberships.get(user=bob)


@pytest.fixture
def alice_membership(acme, alice):
    return acme.memberships.get(user=alice)


@pytest.fixture
def alice_pat(acme, alice):
    """(credential, token) of a personal access token of alice in Acme."""
    return issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="laptop", created_by=alice, user=alice
    )


@pytest.fixture
def acme_key(acme, alice):
    """(credential, token) of an Acme organization API key with the developer role."""
    return issue_credential(
        organization=acme,
        kind=CredentialKind.ORGANIZATION,
        name="orchestrator",
        created_by=alice,
        role="developer",
    )
