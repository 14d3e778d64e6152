"""Registrations and re-validations are rate-limited per user (or API key) and per organization.

Over a limit the caller gets 429 with Retry-After (the uniform JSON error on the API, a friendly
page on the web), and nothing is created: no plugin, no version, no run, no queued task.
"""

from __future__ import annotations

import pytest

from accounts.models import CredentialKind, Membership, Role
from accounts.services import issue_credential
from marketplace.env import ConfigurationError, env_rate
from plugins.models import Plugin, PluginVersion, ValidationRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    def set_limits(*, user: str = "100/h", organization: str = "100/h"):
        settings.MARKETPLACE_SUBMISSIONS_PER_USER = user
        settings.MARKETPLACE_SUBMISSIONS_PER_ORGANIZATION = organization

    return set_limits


def register(client, n: int):
    return client.post(
        "/api/v1/plugins/",
        {"url": f"http://127.0.0.1:8150/plugin-{n}/openapi.json"},
        content_type="application/json",
    )


def counts() -> tuple[int, int, int]:
    return Plugin.objects.count(), PluginVersion.objects.count(), ValidationRun.objects.count()


def assert_throttled_json(response):
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    error = response.json()["error"]
    assert error["code"] == "throttled"
    assert error["retry_after"] == int(response["Retry-After"])
    assert "Too many registrations" in error["message"]


def test_it_answers_429_over_the_per_user_limit_and_creates_nothing(
    limits, alice_api, django_capture_on_commit_callbacks
):
    limits(user="2/h")
    assert register(alice_api, 1).status_code == 202
    assert register(alice_api, 2).status_code == 202
    before = counts()

    with django_capture_on_commit_callbacks() as queued:
        response = register(alice_api, 3)

    assert_throttled_json(response)
    assert counts() == before
    assert queued == []  # no validation task was sent


def test_it_counts_every_member_against_the_organization_limit(
    limits, api_as, acme, alice, bob, globex, charlie
):
    limits(user="10/h", organization="3/h")
    Membership.objects.filter(user=bob).update(role=Role.DEVELOPER)
    alice_api, bob_api = api_as(alice, acme), api_as(bob, acme)

    assert [register(alice_api, n).status_code for n in range(2)] == [202, 202]
    assert register(bob_api, 10).status_code == 202
    response = register(bob_api, 11)

    assert_throttled_json(response)
    assert "your organization" in response.json()["error"]["message"]
    assert register(api_as(charlie, globex), 20).status_code == 202  # other tenants unaffected


def test_it_limits_an_organization_api_key_as_its_own_caller(limits, acme, alice, client):
    limits(user="1/h")
    _, token = issue_credential(
        organization=acme,
        kind=CredentialKind.ORGANIZATION,
        name="ci",
        created_by=alice,
        role=Role.DEVELOPER,
    )
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    assert register(client, 1).status_code == 202
    assert_throttled_json(register(client, 2))


def test_it_does_not_charge_requests_refused_before_they_could_queue_work(limits, alice_api):
    limits(user="1/h")
    bad = alice_api.post("/api/v1/plugins/", {"visibility": "x"}, content_type="application/json")
    assert bad.status_code == 400
    assert register(alice_api, 1).status_code == 202


def test_it_limits_revalidations_with_the_same_quota(limits, alice_api, acme):
    limits(user="2/h")
    plugin_id = register(alice_api, 1).json()["id"]

    assert alice_api.post(f"/api/v1/plugins/{plugin_id}/revalidate/").status_code == 202
    before = counts()
    response = alice_api.post(f"/api/v1/plugins/{plugin_id}/revalidate/")

    assert_throttled_json(response)
    assert counts() == before


def test_a_revalidation_fetches_the_source_again_as_a_new_run(alice_api, acme):
    plugin_id = register(alice_api, 1).json()["id"]

    response = alice_api.post(f"/api/v1/plugins/{plugin_id}/revalidate/")

    assert response.status_code == 202
    assert response.json()["validation"]["status"] == "queued"
    assert ValidationRun.objects.filter(version__plugin_id=plugin_id).count() == 2


def test_it_shows_a_friendly_page_with_retry_after_on_the_web(limits, web_as, acme, alice):
    limits(user="1/h")
    client = web_as(alice)
    first = client.post(
        "/o/acme/plugins/new/", {"url": "http://127.0.0.1:8150/a.json", "visibility": "private"}
    )
    assert first.status_code == 302
    before = counts()

    page = client.post(
        "/o/acme/plugins/new/", {"url": "http://127.0.0.1:8150/b.json", "visibility": "private"}
    )

    assert page.status_code == 429
    assert int(page["Retry-After"]) >= 1
    html = page.content.decode()
    assert "Please wait a moment" in html
    assert 'class="topbar"' in html
    assert counts() == before


def test_the_limits_are_settings_that_refuse_malformed_values(monkeypatch):
    monkeypatch.setenv("MARKETPLACE_SUBMISSIONS_PER_USER", "5/10m")
    assert env_rate("MARKETPLACE_SUBMISSIONS_PER_USER", "20/h") == "5/10m"
    monkeypatch.setenv("MARKETPLACE_SUBMISSIONS_PER_USER", "off")
    assert env_rate("MARKETPLACE_SUBMISSIONS_PER_USER", "20/h") == ""
    for bad in ("lots", "5", "5/fortnight", "0/h", "-1/h"):
        monkeypatch.setenv("MARKETPLACE_SUBMISSIONS_PER_USER", bad)
        with pytest.raises(ConfigurationError, match="MARKETPLACE_SUBMISSIONS_PER_USER"):
            env_rate("MARKETPLACE_SUBMISSIONS_PER_USER", "20/h")
