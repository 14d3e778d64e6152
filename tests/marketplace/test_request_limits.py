"""A client's oversized or malformed request answers 4xx, never 500, through the real server.

Each request goes over a socket to uvicorn running `marketplace.asgi:application`: the uniform
JSON error on the API, the friendly page on the web, and no traceback in the server's log.
"""

from __future__ import annotations

import json

import pytest

from accounts.models import CredentialKind
from accounts.services import issue_credential
from tests.support.asgi_server import AsgiServer

LIMIT = 256 * 1024  # MARKETPLACE_MAX_REQUEST_BYTES for the server under test
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    log = tmp_path_factory.mktemp("uvicorn") / "server.log"
    with AsgiServer(log, MARKETPLACE_MAX_REQUEST_BYTES=str(LIMIT)) as running:
        yield running


@pytest.fixture
def token(acme, alice):
    _, token = issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="t", created_by=alice, user=alice
    )
    return token


def api_error(response, status: int) -> dict:
    code, headers, body = response
    assert code == status, body[:300]
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert set(error) >= {"code", "message"}
    return error


def friendly_page(response, status: int) -> str:
    code, headers, body = response
    assert code == status, body[:300]
    assert headers["content-type"].startswith("text/html")
    html = body.decode()
    assert "Back to the home page" in html
    assert "Traceback" not in html
    return html


def multipart(fields: int, boundary: str = "b0undary") -> tuple[bytes, dict[str, str]]:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{n}"\r\n\r\nx\r\n'
        for n in range(fields)
    ]
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def assert_no_traceback(server):
    log = server.log()
    assert "Traceback" not in log
    assert " 500 " not in log


def test_an_oversized_declared_body_answers_413(server, token):
    body = b'{"url": "' + b"a" * (LIMIT + 10) + b'"}'
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    error = api_error(server.request("POST", "/api/v1/plugins/", body, headers), 413)

    assert error["code"] == "request.too_large"
    html = friendly_page(server.request("POST", "/o/acme/plugins/new/", body, {}), 413)
    assert "Request too large" in html
    assert_no_traceback(server)


def test_an_oversized_streamed_body_answers_413(server, token):
    chunks = [b"x" * 65536] * ((LIMIT // 65536) + 2)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    error = api_error(
        server.request("POST", "/api/v1/plugins/", headers=headers, chunks=chunks), 413
    )

    assert error["code"] == "request.too_large"
    assert_no_traceback(server)


def test_multipart_with_thousands_of_fields_answers_400(server, token):
    body, headers = multipart(3000)

    error = api_error(
        server.request(
            "POST", "/api/v1/plugins/", body, {**headers, "Authorization": f"Bearer {token}"}
        ),
        400,
    )

    assert error["code"] == "request.too_many_fields"
    friendly_page(server.request("POST", "/o/acme/plugins/new/", body, headers), 400)
    assert_no_traceback(server)


def test_malformed_multipart_answers_400(server, token):
    body = b"--nope\r\nthis is not multipart"
    headers = {"Content-Type": "multipart/form-data"}  # no boundary

    error = api_error(
        server.request(
            "POST", "/api/v1/plugins/", body, {**headers, "Authorization": f"Bearer {token}"}
        ),
        400,
    )

    assert error["code"] == "request.malformed"
    friendly_page(server.request("POST", "/o/acme/plugins/new/", body, headers), 400)
    garbage = {"Content-Type": "multipart/form-data; boundary=b0undary"}
    code, _, _ = server.request(
        "POST", "/api/v1/plugins/", body, {**garbage, "Authorization": f"Bearer {token}"}
    )
    assert code == 400  # read as an empty form: nothing to register
    assert_no_traceback(server)


def test_malformed_json_answers_400(server, token):
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    for body in (b'{"url": ', b"\xff\xfe not utf-8", b'{"url": NaN}'):
        error = api_error(server.request("POST", "/api/v1/plugins/", body, headers), 400)
        assert error["code"] == "parse_error"
    assert_no_traceback(server)


@pytest.mark.parametrize("depth", [40, 5000, 100_000])
def test_json_nested_too_deep_answers_400(server, token, depth):
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    body = b'{"url": ' + b"[" * depth + b"]" * depth + b"}"

    error = api_error(server.request("POST", "/api/v1/plugins/", body, headers), 400)

    assert error["code"] == "parse_error"
    assert "nested" in error["message"]
    assert_no_traceback(server)


def test_a_sane_request_still_works_through_the_same_server(server, token):
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    body = json.dumps({"url": "http://127.0.0.1:8150/openapi.json"}).encode()

    code, _, response_body = server.request("POST", "/api/v1/plugins/", body, headers)

    assert code == 202, response_body[:300]
