"""The API's plugin list: plain rows that say exactly what the documented PluginOutput says, and
a total that stays right without counting the whole catalog on every request."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from plugins import review, selectors
from plugins.api import PluginOutput
from plugins.api_list import plugin_rows
from plugins.models import Plugin, PluginVersion
from tests.support.catalog import publish

pytestmark = pytest.mark.django_db


def a_mixed_catalog(acme, globex, alice):
    """Listed, unlisted and private plugins of two publishers; one with a candidate version in
    review and a working copy that differs from its reviewed listing; one never published."""
    publish(
        globex, "Weather Now", description="Forecasts.", operations=("getForecast", "getAlerts")
    )
    publish(globex, "Unlisted Tool", visibility="unlisted")
    publish(acme, "Acme Public", description="Ours, listed.")
    reviewed = publish(acme, "Acme Renamed", description="Reviewed text.")
    Plugin.objects.filter(pk=reviewed.pk).update(
        name="Acme Renamed v2",
        description="Unreviewed text.",
        logo_url="javascript:alert(1)",
        listed_logo_url="https://cdn.example.com/logo.png",
        review_state="pending",
        requested_visibility="unlisted",
    )
    Plugin.objects.create(
        organization=acme,
        slug="draft",
        name="Acme Draft",
        logo_url="https://acme.example.com/logo.png",
    )
    version = PluginVersion.objects.get(pk=reviewed.published_version_id)
    PluginVersion.objects.filter(pk=version.pk).update(diff={"added": ["getThings"]})


def test_a_row_is_what_the_documented_serializer_gives_for_every_kind_of_plugin(
    acme, globex, alice, charlie
):
    a_mixed_catalog(acme, globex, alice)
    request = RequestFactory().get("/api/v1/plugins/", HTTP_HOST="testserver")

    for organization in (acme, globex):
        plugins = selectors.plugins_visible_to(organization=organization)
        expected = PluginOutput(
            plugins, many=True, context={"request": request, "organization": organization}
        ).data
        rows = plugin_rows(plugins, organization=organization, request=request)

        assert [dict(p) for p in expected] == rows
        # Its own plugins and the other's listed ones: not the other's draft or unlisted one.
        assert len(rows) == 4


def test_the_api_list_sends_the_rows(alice_api, acme, globex, alice):
    a_mixed_catalog(acme, globex, alice)

    body = alice_api.get("/api/v1/plugins/").json()

    by_name = {p["name"]: p for p in body}
    assert by_name["Acme Renamed v2"]["logo_url"] is None  # its working copy's link is not vetted
    assert by_name["Acme Draft"]["logo_url"] == "https://acme.example.com/logo.png"
    assert by_name["Acme Draft"]["public_url"] is None
    assert by_name["Weather Now"]["published_version"]["operations"] == [
        "getForecast",
        "getAlerts",
    ]
    assert by_name["Weather Now"]["public_url"].startswith("http://testserver/plugins/")


def total(api, path: str = "/api/v1/plugins/") -> int:
    return int(api.get(path)["X-Total-Count"])


def test_the_total_counts_the_listed_plugins_and_the_callers_own(
    alice_api, charlie_api, acme, globex, alice
):
    a_mixed_catalog(acme, globex, alice)

    assert total(alice_api) == 4  # three listed (one in review) + Acme's own draft
    assert total(charlie_api) == 4  # three listed + Globex's own unlisted plugin
    assert total(alice_api) == len(alice_api.get("/api/v1/plugins/").json())
    assert total(charlie_api) == len(charlie_api.get("/api/v1/plugins/").json())


def test_the_listed_count_is_cached_until_the_catalog_changes(
    alice_api, acme, globex, alice, charlie, django_capture_on_commit_callbacks
):
    publish(globex, "Weather Now")
    later = publish(globex, "Later")
    assert total(alice_api) == 2
    Plugin.objects.create(organization=acme, slug="mine", name="Mine")  # its own: counted at once
    assert total(alice_api) == 3

    with CaptureQueriesContext(connection) as ctx:
        alice_api.get("/api/v1/plugins/")
    plugin_queries = [q["sql"] for q in ctx.captured_queries if "plugins_plugin" in q["sql"]]
    assert len(plugin_queries) == 1  # the page, which counts the caller's own unlisted plugins
    assert f'U0."organization_id" = {acme.pk}' in plugin_queries[0]

    Plugin.objects.filter(pk=later.pk).update(visibility="unlisted")  # behind the cache's back
    assert total(alice_api) == 3
    with django_capture_on_commit_callbacks(execute=True):
        review.change_visibility(
            plugin=Plugin.objects.get(pk=later.pk), visibility="private", changed_by=charlie
        )
    assert total(alice_api) == 2
    assert total(alice_api) == len(alice_api.get("/api/v1/plugins/").json())


def test_a_search_lists_and_counts_its_best_matches_only(alice_api, globex, monkeypatch):
    for i in range(6):
        publish(globex, f"Weather {i}", description="Forecasts.")
    publish(globex, "Recipes", description="Cook.")
    monkeypatch.setattr(selectors, "SEARCH_MAX_RESULTS", 4)

    first = alice_api.get("/api/v1/plugins/?search=weather&limit=3")
    second = alice_api.get("/api/v1/plugins/?search=weather&limit=3&offset=3")

    assert first["X-Total-Count"] == "4"
    assert len(first.json()) == 3
    assert 'rel="next"' in first["Link"]
    assert len(second.json()) == 1
    assert "next" not in second["Link"]
    assert total(alice_api, "/api/v1/plugins/?search=recipes") == 1
    past_the_end = alice_api.get("/api/v1/plugins/?search=weather&offset=10")
    assert (past_the_end.json(), past_the_end["X-Total-Count"]) == ([], "4")


def test_a_search_page_counts_its_matches_in_the_query_that_ranks_them(alice_api, globex):
    for i in range(3):
        publish(globex, f"Weather {i}", description="Forecasts.")
    alice_api.get("/api/v1/plugins/?search=weather")

    with CaptureQueriesContext(connection) as ctx:
        response = alice_api.get("/api/v1/plugins/?search=weather&limit=2")

    assert response["X-Total-Count"] == "3"
    plugin_queries = [q["sql"] for q in ctx.captured_queries if "plugins_plugin" in q["sql"]]
    assert len(plugin_queries) == 1
    assert "OVER ()" in plugin_queries[0]


def test_the_schema_documents_the_total_header(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    listing = schema["paths"]["/api/v1/plugins/"]["get"]
    header = listing["responses"]["200"]["headers"]["X-Total-Count"]
    assert "1,000" in header["description"]


@pytest.fixture(autouse=True)
def _no_cached_counts():
    cache.clear()
