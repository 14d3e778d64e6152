"""Archiving a plugin that was never published: out of the publisher's list (but one click away),
never validated again, submitted or installed while archived, and unarchived as easily; each
step in the audit trail."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from plugins import review
from plugins.installations.services import install_plugin
from plugins.models import Plugin
from tests.plugins.test_publisher_console import failed_upload, validated_upload
from tests.support.plugins import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_web(web_as, alice, acme):
    return web_as(alice)


def archive(web, plugin_pk, **data):
    return web.post(f"/o/acme/plugins/{plugin_pk}/archive/", data, follow=True)


def test_a_plugin_that_never_passed_is_archived_out_of_the_list(alice_web, acme, alice):
    plugin = Plugin.objects.get(pk=failed_upload(acme, alice).plugin.pk)
    detail = alice_web.get(f"/o/acme/plugins/{plugin.pk}/").content.decode()
    assert f'data-confirm="Archive {plugin.name}?' in detail

    page = archive(alice_web, plugin.pk).content.decode()
    assert f"Archived {plugin.name}." in page
    assert "Unarchive" in page
    assert "Re-validate now" not in page
    plugin.refresh_from_db()
    assert plugin.archived_at is not None
    event = AuditEvent.objects.filter(organization=acme).latest("pk")
    assert (event.action, event.target) == ("plugin.archived", plugin.name)

    listing = alice_web.get("/o/acme/plugins/").content.decode()
    assert f">{plugin.name}</a>" not in listing
    assert "Archived plugins (1)" in listing
    archived = alice_web.get("/o/acme/plugins/", {"archived": "1"}).content.decode()
    assert f">{plugin.name}</a>" in archived


def test_an_archived_plugin_is_never_validated_submitted_or_installed(
    alice_web, acme, alice, globex
):
    submission = validated_upload(acme, alice)
    plugin = Plugin.objects.get(pk=submission.plugin.pk)
    archive(alice_web, plugin.pk)

    with pytest.raises(ValidationError, match="archived plugin can't be submitted"):
        review.submit_for_review(plugin=plugin, version=submission.version, submitted_by=alice)
    page = alice_web.post(
        f"/o/acme/plugins/{plugin.pk}/versions/{submission.version.pk}/submit/", follow=True
    ).content.decode()
    assert "can&#x27;t be submitted for review; unarchive it first" in page
    assert "Submit for review" not in page
    with pytest.raises(ValidationError, match="archived plugin can't be installed"):
        install_plugin(organization=acme, version=submission.version, installed_by=alice)
    revalidate = alice_web.post(f"/o/acme/plugins/{plugin.pk}/revalidate/", follow=True)
    assert "can&#x27;t be validated again" in revalidate.content.decode()
    plugin.refresh_from_db()
    assert plugin.candidate_version_id is None
    assert not plugin.installations.exists()

    page = archive(alice_web, plugin.pk, undo="1").content.decode()
    assert f"{plugin.name} is back in your plugins." in page
    assert AuditEvent.objects.filter(organization=acme).latest("pk").action == "plugin.unarchived"
    review.submit_for_review(plugin=plugin, version=submission.version, submitted_by=alice)
    assert Plugin.objects.get(pk=plugin.pk).candidate_version_id == submission.version.pk


def test_a_published_plugin_or_one_in_review_cannot_be_archived(alice_web, acme, alice):
    published = publish(validated_upload(acme, alice), alice)
    assert "Archive" not in alice_web.get(f"/o/acme/plugins/{published.pk}/").content.decode()
    page = archive(alice_web, published.pk).content.decode()
    assert "Only a plugin that was never published" in page
    assert Plugin.objects.get(pk=published.pk).archived_at is None


def test_members_without_the_developer_role_cannot_archive(web_as, acme, alice, bob):
    plugin_pk = failed_upload(acme, alice).plugin.pk
    bob_web = web_as(bob)
    assert "Archive" not in bob_web.get(f"/o/acme/plugins/{plugin_pk}/").content.decode()
    assert bob_web.post(f"/o/acme/plugins/{plugin_pk}/archive/").status_code == 403
    assert Plugin.objects.get(pk=plugin_pk).archived_at is None
