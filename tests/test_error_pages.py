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
