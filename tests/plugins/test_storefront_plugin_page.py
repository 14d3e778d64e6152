"""A published plugin's public page, as a visitor reads it."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from plugins import presentation, review
from plugins.ingest.run import execute_run
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


def test_the_page_costs_the_same_queries_however_many_versions(client, acme, alice):
    plugin = publish(acme, alice)
    client.get(f"/plugins/{plugin.public_id}/")
    with CaptureQueriesContext(connection) as one_version:
        client.get(f"/plugins/{plugin.public_id}/")
    publish(acme, alice, spec=openapi(extra_operation=True))
    spec = openapi(extra_operation=True)
    spec["info"]["version"] = "3"
    publish(acme, alice, spec=spec)
    with CaptureQueriesContext(connection) as three_versions:
        r = client.get(f"/plugins/{plugin.public_id}/")
    assert "v3" in r.content.decode()
    assert len(three_versions) == len(one_version)


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
