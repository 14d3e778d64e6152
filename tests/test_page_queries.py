"""The consoles' pages cost a fixed number of queries, however many rows they show."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Role, User
from plugins import review
from tests.support.trips_plugin import MANIFEST, openapi, publish_trips

pytestmark = pytest.mark.django_db


def queries_for(client, path: str) -> int:
    client.get(path)  # warm: the first request may load the session, content types…
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(captured)


def add_members(org, count: int, start: int = 0) -> None:
    users = User.objects.bulk_create(
        [User(email=f"m{i}@example.com") for i in range(start, start + count)]
    )
    Membership.objects.bulk_create(
        [Membership(organization=org, user=u, role=Role.MEMBER) for u in users]
    )


def test_the_members_page_is_constant_in_members(web_as, alice, acme):
    web = web_as(alice)
    add_members(acme, 5)
    few = queries_for(web, "/o/acme/members/")
    add_members(acme, 60, start=5)
    assert queries_for(web, "/o/acme/members/") == few


def test_the_publisher_pages_are_constant_in_plugins_and_versions(web_as, alice, acme):
    web = web_as(alice)
    plugin = publish_trips(acme, alice)
    listing = queries_for(web, "/o/acme/plugins/")
    detail = queries_for(web, f"/o/acme/plugins/{plugin.pk}/")
    for number in range(3):
        spec = openapi(extra_operation=True)
        spec["info"]["version"] = f"more-{number}"
        publish_trips(acme, alice, spec=spec)
    other = dict(MANIFEST, name_for_model="other", name_for_human="Other")
    publish_trips(acme, alice, manifest=other)
    assert queries_for(web, "/o/acme/plugins/") == listing
    assert queries_for(web, f"/o/acme/plugins/{plugin.pk}/") == detail


def test_the_review_screen_is_constant_in_versions(client, alice, acme):
    User.objects.filter(pk=alice.pk).update(is_staff=True, is_superuser=True)
    client.force_login(alice)
    plugin = publish_trips(acme, alice)
    spec = openapi(extra_operation=True)
    from plugins.models import PluginVersion

    def submit(version_name: str):
        spec["info"]["version"] = version_name
        import json

        from plugins.ingest.run import execute_run
        from plugins.registration import register_plugin_by_upload

        submission = register_plugin_by_upload(
            organization=acme,
            manifest=json.dumps(MANIFEST).encode(),
            openapi=json.dumps(spec).encode(),
            origin="trips.example.com",
            visibility="public",
            submitted_by=alice,
        )
        execute_run(submission.run.pk)
        review.submit_for_review(
            plugin=plugin,
            version=PluginVersion.objects.get(pk=submission.version.pk),
            submitted_by=alice,
        )

    submit("a")
    first = queries_for(client, f"/admin/plugins/plugin/{plugin.pk}/review/")
    for name in ("b", "c", "d"):
        submit(name)
    assert queries_for(client, f"/admin/plugins/plugin/{plugin.pk}/review/") == first
