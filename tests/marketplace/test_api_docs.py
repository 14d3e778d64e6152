"""The REST API describes itself: a valid OpenAPI document and offline interactive docs."""

from __future__ import annotations

import pytest
from django.core.management import call_command


def test_the_schema_is_valid_and_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "bearerToken" in text
    assert "/api/v1/me" in text


@pytest.mark.django_db
def test_the_docs_page_loads_its_assets_from_our_own_origin(client):
    page = client.get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    asset = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200


def test_the_api_root_links_to_the_schema_and_docs(client):
    body = client.get("/api/v1/").json()
    assert body["schema"].endswith("/api/v1/schema/")
    assert body["docs"].endswith("/api/v1/docs/")
