"""Pages carry a Content-Security-Policy that forbids inline script, and comply with it."""

from __future__ import annotations

import re

import pytest

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)

PUBLIC_PAGES = [
    "/",
    "/plugins/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/api/v1/docs/",
]
MEMBER_PAGES = [
    "/o/acme/",
    "/o/acme/members/",
    "/o/acme/tokens/",
    "/o/acme/api-keys/",
    "/o/acme/activity/",
    "/o/acme/plugins/",
    "/o/acme/plugins/new/",
]


def assert_complies(response, path):
    assert response.status_code == 200, path
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-eval'" not in policy
    body = response.content.decode()
    assert not INLINE_SCRIPT.search(body), f"{path} has an inline <script>"
    assert not EVENT_HANDLER.search(body), f"{path} has an inline event handler"


@pytest.mark.django_db
@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_comply(client, path):
    assert_complies(client.get(path), path)


@pytest.mark.parametrize("path", MEMBER_PAGES)
def test_member_pages_comply(web_as, alice, acme, path):
    assert_complies(web_as(alice).get(path), path)


@pytest.mark.django_db
def test_the_api_docs_script_is_served_separately(client):
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
