"""The operators' review decisions, in the services and through the admin's actions, and who
the audit trail names for them (and for registrations made with tokens)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, CredentialKind, Role, User
from accounts.services import create_user, issue_credential
from plugins import review
from plugins.models import Plugin, ReviewState
from tests.support.plugins import publish, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    user = create_user(email="ops@example.com", password="x" * 12, verified=True)
    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    user.refresh_from_db()
    return user


@pytest.fixture
def operator_client(operator):
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def pending(acme, alice):
    submission = upload(acme, alice)
    return review.submit_for_review(
        plugin=submission.plugin, version=submission.version, submitted_by=alice
    )


def last_event(org, action) -> AuditEvent:
    return AuditEvent.objects.filter(organization=org, action=action).latest("pk")


def test_rejecting_a_plugin_awaiting_review_records_the_reason(pending, acme, operator):
    plugin = review.reject_plugin(plugin=pending, reviewer=operator, reason="  No privacy page ")

    assert plugin.review_state == ReviewState.REJECTED
    assert plugin.candidate_version is None
    assert plugin.review_reason == "No privacy page"
    assert plugin.reviewed_by == operator
    event = last_event(acme, "plugin.rejected")
    assert event.actor_label == "operator ops@example.com"
    assert event.details["reason"] == "No privacy page"


def test_a_rejection_needs_a_reason_and_a_plugin_awaiting_review(pending, operator):
    with pytest.raises(ValidationError, match="reason"):
        review.reject_plugin(plugin=pending, reviewer=operator, reason="   ")
    review.approve_plugin(plugin=pending, reviewer=operator)
    with pytest.raises(ValidationError, match="awaiting review"):
        review.reject_plugin(plugin=pending, reviewer=operator, reason="late")


def test_rejecting_a_new_candidate_keeps_the_published_version_up(acme, alice, operator, client):
    plugin = publish(upload(acme, alice, name_for_human="Tidy Tasks"), operator)
    published = plugin.published_version_id
    v2 = upload(acme, alice, name_for_human="Tidy Tasks Pro")
    review.submit_for_review(plugin=plugin, version=v2.version, submitted_by=alice)

    plugin = review.reject_plugin(plugin=plugin, reviewer=operator, reason="Broken v2")

    assert plugin.review_state == ReviewState.APPROVED
    assert plugin.published_version_id == published
    assert plugin.candidate_version is None
    assert plugin.review_reason == "Broken v2"
    assert "Tidy Tasks" in client.get(f"/plugins/{plugin.public_id}/").content.decode()
    event = last_event(acme, "plugin.candidate_rejected")
    assert event.details["published_version"] == 1


def test_suspending_takes_a_published_plugin_down_and_blocks_resubmission(
    acme, alice, operator, client
):
    plugin = publish(upload(acme, alice), operator)
    assert client.get(f"/plugins/{plugin.public_id}/").status_code == 200

    plugin = review.suspend_plugin(plugin=plugin, reviewer=operator, reason="Abuse report")

    assert plugin.review_state == ReviewState.SUSPENDED
    assert client.get(f"/plugins/{plugin.public_id}/").status_code == 404
    assert plugin.public_id not in client.get("/plugins/").content.decode()
    with pytest.raises(ValidationError, match="suspended"):
        review.submit_for_review(
            plugin=plugin, version=plugin.published_version, submitted_by=alice
        )
    assert last_event(acme, "plugin.suspended").details["reason"] == "Abuse report"
    with pytest.raises(ValidationError, match="reason"):
        review.suspend_plugin(plugin=plugin, reviewer=operator, reason="")


def _changelist(model: str) -> str:
    return reverse(f"admin:plugins_{model}_changelist")


def test_the_admin_approves_from_the_review_queue(pending, operator_client):
    response = operator_client.post(
        _changelist("pluginawaitingreview"),
        {"action": "approve", "_selected_action": [pending.pk]},
    )

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.review_state == ReviewState.APPROVED
    assert pending.listed_name == "Demo TODO List"


@pytest.mark.parametrize(
    ("action", "state"), [("reject", ReviewState.REJECTED), ("suspend", ReviewState.SUSPENDED)]
)
def test_the_admin_asks_for_a_reason_then_decides(pending, operator_client, action, state):
    url = _changelist("plugin")
    form = operator_client.post(url, {"action": action, "_selected_action": [pending.pk]})

    assert form.status_code == 200
    assert 'name="reason"' in form.content.decode()
    pending.refresh_from_db()
    assert pending.review_state == ReviewState.PENDING  # nothing decided without a reason

    done = operator_client.post(
        url,
        {"action": action, "_selected_action": [pending.pk], "apply": "1", "reason": "Spam"},
    )

    assert done.status_code == 302
    pending.refresh_from_db()
    assert (pending.review_state, pending.review_reason) == (state, "Spam")


def test_the_admin_reports_a_decision_that_does_not_apply(acme, alice, operator_client):
    draft = upload(acme, alice).plugin

    response = operator_client.post(
        _changelist("plugin"), {"action": "approve", "_selected_action": [draft.pk]}, follow=True
    )

    assert "Only a plugin awaiting review can be approved" in response.content.decode()
    assert Plugin.objects.get(pk=draft.pk).review_state == ReviewState.DRAFT


def test_a_registration_with_an_organization_key_names_the_key(acme, alice, client):
    credential, token = issue_credential(
        organization=acme,
        kind=CredentialKind.ORGANIZATION,
        name="deploy bot",
        created_by=alice,
        role=Role.DEVELOPER,
    )
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    response = client.post(
        "/api/v1/plugins/",
        {"url": "http://127.0.0.1:8150/openapi.json"},
        content_type="application/json",
    )

    assert response.status_code == 202
    event = last_event(acme, "plugin.version_registered")
    assert event.actor is None
    assert event.actor_label == f"API key deploy bot ({credential.prefix}…)"
    assert token not in event.actor_label


def test_a_registration_with_a_personal_token_names_its_user(alice_api, acme):
    alice_api.post(
        "/api/v1/plugins/",
        {"url": "http://127.0.0.1:8150/openapi.json"},
        content_type="application/json",
    )

    event = last_event(acme, "plugin.version_registered")
    assert event.actor_label == "alice@example.com"


def test_a_personal_token_is_recorded_with_its_owners_real_role(acme, alice, bob):
    issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="cli", created_by=alice, user=alice
    )
    assert last_event(acme, "credential.issued").details["role"] == "owner"

    issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="cli", created_by=bob, user=bob
    )
    assert last_event(acme, "credential.issued").details["role"] == "member"
