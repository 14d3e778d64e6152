"""The publisher console's housekeeping: re-validate, delete what never passed, the review
button's states, the public link, and what members without the Developer role see."""

from __future__ import annotations

import dataclasses

import pytest

from accounts.models import AuditEvent, Membership, Role
from plugins import review
from plugins.ingest.run import execute_run
from plugins.models import Plugin, RunStatus, RunTrigger, ValidationRun
from plugins.registration import register_plugin_by_upload
from tests.support.plugins import DEMO_DIR, register_and_validate, serve_todo_plugin

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_web(web_as, alice, acme):
    return web_as(alice)


def validated_upload(org, user, *, openapi: bytes | None = None):
    submission = register_plugin_by_upload(
        organization=org,
        manifest=(DEMO_DIR / "todo-manifest.json").read_bytes(),
        openapi=openapi or (DEMO_DIR / "todo-openapi.yaml").read_bytes(),
        origin="todo.demo.example",
        visibility="public",
        submitted_by=user,
    )
    execute_run(submission.run.pk)
    submission.version.refresh_from_db()
    # The run files an upload under the plugin its documents identify.
    return dataclasses.replace(submission, plugin=submission.version.plugin)


def failed_upload(org, user):
    return validated_upload(org, user, openapi=b'{"openapi": "3.0.1", "info": {"title": "x"}}')


def test_an_empty_register_form_says_what_to_give(alice_web):
    r = alice_web.post("/o/acme/plugins/new/", {"visibility": "private"})
    html = r.content.decode()
    assert "Give the plugin&#x27;s URL, or upload its manifest" in html
    assert "not both" not in html
    assert not ValidationRun.objects.exists()


def test_members_without_the_developer_role_see_no_publishing_actions(web_as, acme, alice, bob):
    submission = validated_upload(acme, alice)
    assert Membership.objects.get(user=bob, organization=acme).role == Role.MEMBER
    bob_web = web_as(bob)
    listing = bob_web.get("/o/acme/plugins/").content.decode()
    assert "Register a plugin" not in listing
    assert "needs the Developer role" in listing
    detail = bob_web.get(f"/o/acme/plugins/{submission.plugin.pk}/").content.decode()
    for action in ("Re-validate now", "Delete plugin", "Submit for review", "Change visibility"):
        assert action not in detail
    assert "Ready for review" in detail
    assert bob_web.post(f"/o/acme/plugins/{submission.plugin.pk}/revalidate/").status_code == 403


def test_a_developer_sees_every_action(alice_web, acme, alice):
    submission = failed_upload(acme, alice)
    detail = alice_web.get(f"/o/acme/plugins/{submission.plugin.pk}/").content.decode()
    assert "Re-validate now" in detail
    assert "Delete plugin" in detail
    assert "Fix the errors first" in detail
    name = Plugin.objects.get(pk=submission.plugin.pk).name
    assert f'data-confirm="Delete {name} and all its versions?' in detail


def test_it_deletes_a_plugin_that_never_passed(alice_web, acme, alice):
    submission = failed_upload(acme, alice)
    name = Plugin.objects.get(pk=submission.plugin.pk).name
    r = alice_web.post(f"/o/acme/plugins/{submission.plugin.pk}/delete/")
    assert r.status_code == 302
    assert r["Location"] == "/o/acme/plugins/"
    assert not Plugin.objects.filter(pk=submission.plugin.pk).exists()
    event = AuditEvent.objects.filter(organization=acme).latest("pk")
    assert event.action == "plugin.deleted"
    assert event.target == name


def test_it_refuses_to_delete_a_plugin_that_passed(alice_web, acme, alice):
    submission = validated_upload(acme, alice)
    detail = alice_web.get(f"/o/acme/plugins/{submission.plugin.pk}/").content.decode()
    assert "Delete plugin" not in detail
    r = alice_web.post(f"/o/acme/plugins/{submission.plugin.pk}/delete/", follow=True)
    assert "Only a plugin that never passed validation can be deleted" in r.content.decode()
    assert Plugin.objects.filter(pk=submission.plugin.pk).exists()


def test_it_refuses_to_delete_while_a_run_is_going(alice_web, acme, alice):
    submission = register_plugin_by_upload(
        organization=acme,
        manifest=None,
        openapi=b'{"openapi": "3.0.1"}',
        origin="x.example",
        visibility="private",
        submitted_by=alice,
    )
    r = alice_web.post(f"/o/acme/plugins/{submission.plugin.pk}/delete/", follow=True)
    assert "still going" in r.content.decode()
    assert Plugin.objects.filter(pk=submission.plugin.pk).exists()


def test_revalidating_an_upload_checks_its_latest_version_again(alice_web, acme, alice):
    submission = validated_upload(acme, alice)
    r = alice_web.post(f"/o/acme/plugins/{submission.plugin.pk}/revalidate/")
    run = ValidationRun.objects.latest("pk")
    assert r["Location"] == f"/o/acme/validation-runs/{run.pk}/"
    assert run.version_id == submission.version.pk
    assert run.trigger == RunTrigger.REVALIDATION
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.PASSED
    assert AuditEvent.objects.filter(action="plugin.revalidation_requested").exists()


def test_revalidating_a_url_plugin_fetches_it_again(alice_web, acme, alice, plugin_server):
    serve_todo_plugin(plugin_server)
    first = register_and_validate(acme, alice, plugin_server.url("/"))
    serve_todo_plugin(plugin_server, operations=("getTodos",))  # the live plugin changed
    r = alice_web.post(f"/o/acme/plugins/{first.version.plugin_id}/revalidate/")
    run = ValidationRun.objects.latest("pk")
    assert r["Location"] == f"/o/acme/validation-runs/{run.pk}/"
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.PASSED
    assert run.version.plugin_id == first.version.plugin_id
    assert run.version.number == 2
    assert run.version.diff["removed"] == ["addTodo"]


def test_the_review_button_reflects_the_state(alice_web, acme, alice):
    submission = validated_upload(acme, alice)
    url = f"/o/acme/plugins/{submission.plugin.pk}/"
    assert "Submit for review" in alice_web.get(url).content.decode()

    review.submit_for_review(
        plugin=submission.plugin, version=submission.version, submitted_by=alice
    )
    page = alice_web.get(url).content.decode()
    assert "Awaiting review" in page
    assert "Submit for review" not in page
    assert "View the public listing" not in page

    review.approve_plugin(plugin=submission.plugin, reviewer=alice)
    submission.plugin.refresh_from_db()
    page = alice_web.get(url).content.decode()
    assert ">Published</span>" in page
    assert f'href="/plugins/{submission.plugin.public_id}/"' in page


def test_a_private_plugin_has_no_public_listing_link(alice_web, acme, alice):
    submission = validated_upload(acme, alice)
    review.submit_for_review(
        plugin=submission.plugin, version=submission.version, submitted_by=alice
    )
    review.approve_plugin(plugin=submission.plugin, reviewer=alice)
    review.change_visibility(plugin=submission.plugin, visibility="private", changed_by=alice)
    page = alice_web.get(f"/o/acme/plugins/{submission.plugin.pk}/").content.decode()
    assert "View the public listing" not in page


def test_the_plugin_list_shows_each_plugins_latest_validation(alice_web, acme, alice):
    validated_upload(acme, alice)
    page = alice_web.get("/o/acme/plugins/").content.decode()
    assert '<span class="badge passed">Passed</span>' in page
