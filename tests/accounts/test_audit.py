"""Every membership, invitation, credential and publishing change leaves an audit event."""

from __future__ import annotations

import json

import pytest

from accounts.audit import record_event
from accounts.models import AuditEvent, CredentialKind, Role
from accounts.services import (
    change_role,
    invite_member,
    issue_credential,
    remove_member,
    revoke_credential,
)

pytestmark = pytest.mark.django_db


def actions(org) -> list[str]:
    return list(
        AuditEvent.objects.filter(organization=org).order_by("pk").values_list("action", flat=True)
    )


def test_it_records_role_changes_with_before_and_after(acme, alice, bob):
    change_role(membership=acme.memberships.get(user=bob), role=Role.DEVELOPER, changed_by=alice)

    event = AuditEvent.objects.get(organization=acme, action="member.role_changed")
    assert event.actor == alice
    assert event.target == "bob@example.com"
    assert event.details == {"before": "member", "after": "developer"}


def test_it_records_credentials_by_prefix_and_never_the_token(acme, alice):
    credential, token = issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="ci", created_by=alice, user=alice
    )
    revoke_credential(credential=credential, revoked_by=alice)

    assert actions(acme)[-2:] == ["credential.issued", "credential.revoked"]
    stored = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert credential.prefix in stored
    assert token not in stored
    assert token.removeprefix(credential.prefix + "_") not in stored


def test_it_records_invitations_and_removals(acme, alice, bob):
    invite_member(organization=acme, email="dave@example.com", role=Role.MEMBER, invited_by=alice)
    remove_member(membership=acme.memberships.get(user=bob), removed_by=alice)

    assert actions(acme)[-2:] == ["invitation.sent", "member.removed"]


def test_it_refuses_details_that_look_like_secrets(acme):
    with pytest.raises(ValueError, match="secrets"):
        record_event(organization=acme, action="x", token="mkp_abc")


def test_it_keeps_each_organizations_events_to_itself(acme, globex, alice, charlie):
    change_role(
        membership=acme.memberships.get(user__email="bob@example.com"),
        role=Role.ADMIN,
        changed_by=alice,
    )

    assert "member.role_changed" not in actions(globex)


def test_admins_read_the_activity_page_and_members_cannot(web_as, acme, alice, bob):
    change_role(membership=acme.memberships.get(user=bob), role=Role.DEVELOPER, changed_by=alice)

    page = web_as(alice).get("/o/acme/activity/")
    assert page.status_code == 200
    assert "member.role_changed" in page.content.decode()
    assert web_as(bob).get("/o/acme/activity/").status_code == 403
