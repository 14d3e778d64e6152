"""A published plugin's public page, as a visitor reads it."""

from __future__ import annotations

import json
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from plugins import presentation, review, selectors
from plugins.ingest.run import execute_run
from plugins.models import ValidationRun
from plugins.registration import register_plugin_by_upload
from tests.support.trips_plugin import MANIFEST, openapi

pytestmark = pytest.mark.django_db


def publish(org, user, *, manifest=None, spec=None):
    submission = register_plugin_by_upload(
        organization=org,
        manifest=json.dumps(manifest or MANIFEST).encode(),
        openapi=json.dumps(spec or openapi()).encode(),
        origin="trips.example.com",
        visibility="public",
        submitted_by=user,
    )
    execute_run(submission.run.pk)
    submission.version.refresh_from_db()
    assert submission.version.validation_state == "passed", list(
        submission.run.findings.filter(severity="error").values_list("code", "message")
    )
    plugin = submission.version.plugin  # the run files an upload under its plugin
    review.submit_for_review(plugin=plugin, version=submission.version, submitted_by=user)
    plugin = review.approve_plugin(plugin=plugin, reviewer=user)
    return plugin


def test_it_shows_the_human_description_never_the_model_prompt(client, acme, alice):
    plugin = publish(acme, alice)
    html = client.get(f"/plugins/{plugin.public_id}/").content.decode()
    assert "Trip Planner" in html
    assert "Plan trips and book hotels in a few words." in html
    assert "SECRET-MODEL-PROMPT" not in html


def test_it_lists_operations_with_parameters_and_body_fields(client, acme, alice):
    plugin = publish(acme, alice)
    html = client.get(f"/plugins/{plugin.public_id}/").content.decode()
    assert "Find hotels in a city" in html
    assert '<code>city</code> <span class="badge warning">required</span>' in html
    assert "Where to stay." in html
    assert "integer: one of 3, 4, 5" in html
    assert "Request body (application/json)" in html
    for field in ("hotel_id", "guest", "guest.name", "guest.nights"):
        assert f"<code>{field}</code>" in html
    assert "Which hotel." in html


def test_it_offers_examples_as_try_asking(client, acme, alice):
    plugin = publish(acme, alice)
    html = client.get(f"/plugins/{plugin.public_id}/").content.decode()
    assert "Try asking…" in html
    assert "“Find me a hotel in Lisbon for Friday”" in html
    assert "“Any rooms in Porto?”" in html


def test_it_explains_the_auth_in_plain_words_and_links_legal_and_contact(client, acme, alice):
    plugin = publish(acme, alice)
    html = client.get(f"/plugins/{plugin.public_id}/").content.decode()
    assert "Your own API key" in html
    assert "Each person connects their own bearer key for trips.example.com" in html
    assert 'href="mailto:help@trips.example.com"' in html
    assert 'href="https://trips.example.com/legal" rel="noopener noreferrer nofollow ugc"' in html


@pytest.mark.parametrize(
    ("auth", "title", "words"),
    [
        ({"type": "none"}, "No account needed", "without any key"),
        (
            {"type": "service_http", "authorization_type": "bearer"},
            "The publisher's key",
            "You connect nothing",
        ),
        (
            {"type": "oauth", "scope": "calendar.read"},
            "Sign in with api.example.com",
            "calendar.read",
        ),
    ],
)
def test_each_auth_type_reads_plainly(auth, title, words):
    explained = presentation.auth_explanation(
        {"auth": auth, "server_url": "https://api.example.com/v1"}
    )
    assert explained["title"] == title
    assert words in explained["text"]


def test_it_lists_versions_with_their_changelog(client, acme, alice):
    publish(acme, alice)
    plugin = publish(acme, alice, spec=openapi(extra_operation=True))
    html = client.get(f"/plugins/{plugin.public_id}/").content.decode()
    assert "v2" in html
    assert "Added getWeather" in html
    assert "First version." in html


def test_anonymous_visitors_are_asked_to_log_in_to_install(client, acme, alice):
    plugin = publish(acme, alice)
    html = client.get(f"/plugins/{plugin.public_id}/").content.decode()
    assert "Log in to install" in html
    assert f"/accounts/login/?next=%2Fplugins%2F{plugin.public_id}%2F" in html
    client.force_login(alice)
    assert "Log in to install" not in client.get(f"/plugins/{plugin.public_id}/").content.decode()


def page_queries(client, path: str) -> tuple[int, int]:
    """(queries of a first visit, queries of the next one)."""
    cache.clear()
    with CaptureQueriesContext(connection) as first:
        client.get(path)
    with CaptureQueriesContext(connection) as again:
        response = client.get(path)
    assert response.status_code == 200
    return len(first), len(again)


def test_the_page_costs_the_same_queries_however_many_versions(client, acme, alice):
    plugin = publish(acme, alice)
    one_version = page_queries(client, f"/plugins/{plugin.public_id}/")
    publish(acme, alice, spec=openapi(extra_operation=True))
    spec = openapi(extra_operation=True)
    spec["info"]["version"] = "3"
    publish(acme, alice, spec=spec)

    assert page_queries(client, f"/plugins/{plugin.public_id}/") == one_version
    assert one_version[1] == 0  # the plugin and its version's presentation come from caches
    assert "v3" in client.get(f"/plugins/{plugin.public_id}/").content.decode()


def test_a_new_version_shows_at_once_and_a_new_run_within_a_minute(
    client, acme, alice, monkeypatch
):
    monkeypatch.setattr(selectors, "PAGE_PLUGIN_CACHE_SECONDS", 1)
    plugin = publish(acme, alice)
    path = f"/plugins/{plugin.public_id}/"
    assert "getWeather" not in client.get(path).content.decode()

    plugin = publish(acme, alice, spec=openapi(extra_operation=True))
    html = client.get(path).content.decode()
    assert "getWeather" in html
    assert "Added getWeather" in html

    run = ValidationRun.objects.filter(version=plugin.published_version).latest("created_at")
    ValidationRun.objects.filter(pk=run.pk).update(summary="Re-checked: 1 warning.")
    assert "Re-checked: 1 warning." not in client.get(path).content.decode()
    time.sleep(1.1)
    assert "Re-checked: 1 warning." in client.get(path).content.decode()


def test_a_suspended_plugin_is_gone_at_once(
    client, acme, alice, django_capture_on_commit_callbacks
):
    plugin = publish(acme, alice)
    path = f"/plugins/{plugin.public_id}/"
    assert client.get(path).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        review.suspend_plugin(plugin=plugin, reviewer=alice, reason="Abuse.")

    assert client.get(path).status_code == 404


def test_a_published_plugin_stays_listed_while_its_update_awaits_review(client, acme, alice):
    plugin = publish(acme, alice)
    submission = register_plugin_by_upload(
        organization=acme,
        manifest=json.dumps(MANIFEST).encode(),
        openapi=json.dumps(openapi(extra_operation=True)).encode(),
        origin="trips.example.com",
        visibility="public",
        submitted_by=alice,
    )
    execute_run(submission.run.pk)
    review.submit_for_review(plugin=plugin, version=submission.version, submitted_by=alice)
    plugin.refresh_from_db()
    assert plugin.review_state == "pending"
    page = client.get(f"/plugins/{plugin.public_id}/")
    assert page.status_code == 200
    assert "getWeather" not in page.content.decode()  # the candidate isn't live yet
    assert "Trip Planner" in client.get("/plugins/").content.decode()
