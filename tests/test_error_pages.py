"""Unknown routes and server errors: friendly HTML pages, JSON on the API, never a traceback.

The 500 tests route to views that raise through this module's URLconf (the site's routes plus
two failing views), with the site's handlers.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import path

from marketplace.urls import handler404, handler500  # noqa: F401 - this URLconf's handlers
from marketplace.urls import urlpatterns as site_urlpatterns


def _boom(request):
    raise RuntimeError("kaboom: secret internals")


urlpatterns = [
    path("test-boom/", _boom),
    path("api/v1/test-boom", _boom),
    *site_urlpatterns,
]

THIS_URLCONF = __name__


@pytest.fixture
def quiet_client(client):
    client.raise_request_exception = False
    return client


def test_it_runs_the_tests_without_debug():
    assert settings.DEBUG is False


def test_it_shows_a_friendly_404_page(client, db):
    r = client.get("/no/such/page/")
    assert r.status_code == 404
    assert r["Content-Type"].startswith("text/html")
    html = r.content.decode()
    assert "Page not found" in html
    assert 'class="topbar"' in html
    assert "Traceback" not in html
    assert "urlpatterns" not in html


def test_it_answers_unknown_api_routes_with_json(client, db):
    r = client.get("/api/v1/nope")
    assert r.status_code == 404
    assert r["Content-Type"] == "application/json"
    assert r.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_it_answers_wrong_api_methods_with_json(client, alice_api):
    r = alice_api.delete("/api/v1/me")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.urls(THIS_URLCONF)
def test_it_shows_a_friendly_500_page(quiet_client, db):
    r = quiet_client.get("/test-boom/")
    assert r.status_code == 500
    assert r["Content-Type"].startswith("text/html")
    html = r.content.decode()
    assert "Something went wrong" in html
    assert "kaboom" not in html
    assert "Traceback" not in html


@pytest.mark.urls(THIS_URLCONF)
def test_it_answers_api_errors_with_json(quiet_client, db):
    r = quiet_client.get("/api/v1/test-boom")
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "server_error", "message": "An internal error occurred."}}
    assert b"kaboom" not in r.content


def test_it_explains_a_403_with_the_role_needed(client, acme, bob):
    client.force_login(bob)
    r = client.get("/o/acme/plugins/new/")
    assert r.status_code == 403
    html = r.content.decode()
    assert "This needs the Developer role or above." in html
    assert "Back to Acme" in html


def test_it_explains_an_expired_form(acme, alice):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    r = strict.post("/o/acme/leave/")
    assert r.status_code == 403
    assert "This form has expired" in r.content.decode()


@pytest.mark.parametrize("path", ["/no/such/page/", "/o/no-such-org/", "/plugins/not-an-id/"])
def test_it_shows_the_friendly_404_even_with_debug_on(client, settings, alice, path):
    settings.DEBUG = True
    client.force_login(alice)
    r = client.get(path)
    assert r.status_code == 404
    html = r.content.decode()
    assert "Page not found" in html
    assert 'class="topbar"' in html
    assert "URLconf" not in html
    assert "urlpatterns" not in html
    assert "DEBUG = True" not in html


def test_it_shows_the_friendly_403_even_with_debug_on(client, settings, acme, bob):
    settings.DEBUG = True
    client.force_login(bob)
    r = client.get("/o/acme/plugins/new/")
    assert r.status_code == 403
    assert "This needs the Developer role or above." in r.content.decode()
    assert "Traceback" not in r.content.decode()


def test_debug_still_redirects_to_the_trailing_slash_and_answers_the_api_in_json(
    client, settings, acme, alice
):
    settings.DEBUG = True
    client.force_login(alice)
    r = client.get("/o/acme")
    assert r.status_code == 301
    assert r["Location"] == "/o/acme/"
    api = client.get("/api/v1/nope")
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"


def test_it_has_a_favicon(client, db):
    r = client.get("/favicon.ico")
    assert r.status_code == 301
    assert r["Location"].endswith("/favicon.svg")
    assert 'rel="icon"' in client.get("/").content.decode()


@pytest.mark.urls(THIS_URLCONF)
def test_it_shows_the_friendly_500_even_with_debug_on_and_logs_the_traceback(
    quiet_client, settings, db, caplog
):
    settings.DEBUG = True
    with caplog.at_level("ERROR", logger="django.request"):
        r = quiet_client.get("/test-boom/")
    assert r.status_code == 500
    html = r.content.decode()
    assert "Something went wrong" in html
    assert "kaboom" not in html
    assert "Traceback" not in html
    assert "DEBUG = True" not in html
    assert any("kaboom" in str(rec.exc_info[1]) for rec in caplog.records if rec.exc_info)


@pytest.mark.urls(THIS_URLCONF)
def test_a_developer_may_opt_in_to_the_technical_500_with_debug_on(quiet_client, settings, db):
    settings.DEBUG = True
    settings.MARKETPLACE_DEBUG_TECHNICAL_500 = True
    r = quiet_client.get("/test-boom/")
    assert r.status_code == 500
    assert "kaboom" in r.content.decode()


@pytest.mark.urls(THIS_URLCONF)
def test_debug_on_still_answers_api_errors_in_json(quiet_client, settings, db):
    settings.DEBUG = True
    r = quiet_client.get("/api/v1/test-boom")
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "server_error"
    assert b"kaboom" not in r.content
