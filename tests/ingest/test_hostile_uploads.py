"""Hostile documents uploaded through the API end in a failed run with a specific code,
never a crash, a hang or a report that echoes what it should not have read."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from plugins.ingest.run import execute_run
from plugins.models import RunStatus, ValidationRun

pytestmark = pytest.mark.django_db

BILLION_LAUGHS = "\n".join(
    ["a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']"]
    + [
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
        f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
        f"*{chr(97 + i)}]"
        for i in range(8)
    ]
).encode()
MERGE_BOMB = (
    "l0: &l0 {a: 1}\n"
    + "".join(f"l{i}: &l{i}\n  <<: [*l{i - 1}, *l{i - 1}]\n  k{i}: {i}\n" for i in range(1, 40))
).encode()


def spec_with(path_item: dict) -> bytes:
    return json.dumps(
        {
            "openapi": "3.0.0",
            "info": {"title": "t", "version": "1"},
            "servers": [{"url": "https://api.example.com"}],
            "paths": {"/x": path_item},
        }
    ).encode()


HOSTILE = {
    "json nested 10,000 deep": (b"[" * 10_000 + b"]" * 10_000, "document.too_deep"),
    "yaml alias bomb": (BILLION_LAUGHS, "document.yaml_bomb"),
    "yaml merge-key bomb": (MERGE_BOMB, "document.yaml_bomb"),
    "invalid utf-8": (b'{"openapi": "3.0.0", "x": "\xff\xfe"}', "document.not_utf8"),
    "html error page": (
        b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
        "document.html",
    ),
    "file $ref": (
        spec_with(
            {
                "get": {
                    "operationId": "x",
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {"schema": {"$ref": "file:///etc/passwd"}}
                            },
                        }
                    },
                }
            }
        ),
        "openapi.ref.external_file",
    ),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_it_fails_the_run_with_a_specific_code(alice_api, name):
    content, code = HOSTILE[name]
    response = alice_api.post(
        "/api/v1/plugins/",
        {"openapi": SimpleUploadedFile("openapi.yaml", content), "origin": "api.example.com"},
    )
    assert response.status_code == 202
    run = ValidationRun.objects.get(pk=response.json()["validation"]["id"])

    execute_run(run.pk)

    report = alice_api.get(f"/api/v1/validation-runs/{run.pk}/").json()
    assert report["status"] == RunStatus.FAILED
    codes = {f["code"] for f in report["findings"] if f["severity"] == "error"}
    assert code in codes, codes
    assert "root:" not in json.dumps(report)
