"""Upstream faults against real loopback servers: each gives the right status and a call event,
within the deadline (no hung worker)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct
import time

import pytest

from plugins.installations.models import CallEvent
from plugins.outbound import async_fetch, close_loop_session
from plugins.proxy import fast
from plugins.proxy.build import UpstreamRequest
from plugins.proxy.errors import ProxyError
from plugins.proxy.events import drain_call_events
from tests.proxy.conftest import call


@pytest.fixture
def short_timeout(settings):
    settings.PROXY_TIMEOUT = 1
    return settings


def fault(upstream, route) -> None:
    upstream.route("GET /databases", route)


def call_tables(bob_api, data_install):
    started = time.monotonic()
    response = call(bob_api, data_install, "listTables", {})
    elapsed = time.monotonic() - started
    assert elapsed < 20, "the proxy must give up by its deadline"
    return response


def event_for(response) -> CallEvent:
    drain_call_events()
    return CallEvent.objects.get(request_id=response.json()["request_id"])


def test_an_upstream_500_is_a_502_with_the_status(data_install, bob_api, upstream):
    fault(upstream, lambda h: h.reply(500, b'{"error": "boom"}'))
    response = call_tables(bob_api, data_install)
    assert response.status_code == 502
    assert response.json()["status"] == 500
    assert "boom" not in response.content.decode()
    event = event_for(response)
    assert (event.decision, event.upstream_status) == ("upstream_error", 500)


def test_an_upstream_4xx_is_given_to_the_model(data_install, bob_api, upstream):
    fault(upstream, lambda h: h.reply(404, b'{"error": "no such table"}'))
    response = call_tables(bob_api, data_install)
    assert response.status_code == 200
    assert response.json()["status"] == 404
    assert response.json()["data"] == {"error": "no such table"}


def test_a_timeout_is_a_504(data_install, bob_api, upstream, short_timeout):
    fault(upstream, lambda h: h.wait(5) or h.reply(200, b"[]"))
    response = call_tables(bob_api, data_install)
    assert response.status_code == 504
    assert event_for(response).decision == "upstream_error"


def test_a_slow_drip_is_cut_at_the_deadline(data_install, bob_api, upstream, short_timeout):
    def drip(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(100):
            if handler.stopping():
                return
            handler.wfile.write(b" ")
            handler.wfile.flush()
            handler.wait(0.1)

    fault(upstream, drip)
    response = call_tables(bob_api, data_install)
    assert response.status_code == 504


def test_a_connection_reset_is_a_502_after_one_retry_of_an_idempotent_call(
    data_install, bob_api, upstream
):
    def reset(handler):
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.close_connection = True
        handler.connection.close()

    fault(upstream, reset)
    response = call_tables(bob_api, data_install)
    assert response.status_code == 502
    assert response.json()["error"]["cause"] in (
        "outbound.connect_failed",
        "outbound.protocol_error",
    )
    assert 1 <= len(upstream.seen) <= 2


def test_the_outbound_clients_retry_on_a_fresh_connection_counts_as_the_one_retry(upstream):
    """A GET whose pooled connection died before answering is sent again on a fresh one by the
    outbound client; when that dies too, the proxy makes no retry of its own: three requests
    (the one that filled the pool, the lost one, its retry), not four."""

    def answer_once_then_hang_up(handler):
        if len(upstream.seen) == 1:
            handler.reply(200, b"[]")
        else:
            handler.close_connection = True

    fault(upstream, answer_once_then_hang_up)
    url = upstream.url + "/databases"

    async def pooled_then_through_the_proxy():
        try:
            await async_fetch(url)  # leaves its connection in the pool
            await fast._send_once(UpstreamRequest(method="GET", url=url), None)
        finally:
            await close_loop_session()

    with pytest.raises(ProxyError) as caught:
        asyncio.run(pooled_then_through_the_proxy())
    assert caught.value.status == 502
    assert [s.method for s in upstream.seen] == ["GET", "GET", "GET"]


def test_a_50_mb_body_is_refused(data_install, bob_api, upstream):
    def huge(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(50 * 1024 * 1024))
        handler.end_headers()
        chunk = b"[" + b"0," * 32767 + b"0"
        try:
            for _ in range(800):
                handler.wfile.write(chunk)
        except OSError:
            pass

    fault(upstream, huge)
    response = call_tables(bob_api, data_install)
    assert response.status_code == 502
    assert response.json()["error"]["cause"] == "outbound.too_large"


def test_an_undeclared_huge_body_is_cut_while_streaming(data_install, bob_api, upstream):
    def endless(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        try:
            for _ in range(2000):
                handler.wfile.write(b"0" * 65536)
        except OSError:
            pass

    fault(upstream, endless)
    response = call_tables(bob_api, data_install)
    assert response.status_code == 502
    assert response.json()["error"]["cause"] == "outbound.too_large"


def test_a_gzip_bomb_is_refused(data_install, bob_api, upstream):
    bomb = gzip.compress(b"0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 200_000
    fault(
        upstream,
        lambda h: h.reply(200, bomb, headers={"Content-Encoding": "gzip"}),
    )
    response = call_tables(bob_api, data_install)
    assert response.status_code == 502
    assert response.json()["error"]["cause"] == "outbound.too_large"


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:1/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://localhost:{port}/databases",
    ],
)
def test_a_redirect_to_another_host_is_refused(data_install, bob_api, upstream, target):
    port = upstream.url.rsplit(":", 1)[1]
    fault(upstream, lambda h: h.redirect(302, target.format(port=port)))
    response = call_tables(bob_api, data_install)
    assert response.status_code == 502
    assert response.json()["error"]["cause"] == "outbound.redirect_not_allowed"
    assert len(upstream.seen) == 1


def test_invalid_json_is_a_502(data_install, bob_api, upstream):
    fault(upstream, lambda h: h.reply(200, b'{"rows": [1, 2,'))
    response = call_tables(bob_api, data_install)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "proxy.upstream_invalid_json"
    assert event_for(response).upstream_status == 200


def test_a_503_with_retry_after_is_retried_once_for_idempotent_calls(
    data_install, bob_api, upstream
):
    answers = iter([(503, b"busy"), (200, b'[{"name": "orders"}]')])

    def flaky(handler):
        status, body = next(answers)
        handler.reply(status, body, headers={"Retry-After": "0"})

    fault(upstream, flaky)
    response = call_tables(bob_api, data_install)
    assert response.status_code == 200
    assert response.json()["data"] == [{"name": "orders"}]
    assert len(upstream.seen) == 2


def test_a_long_answer_is_clipped_for_the_model(data_install, bob_api, upstream, settings):
    settings.PROXY_MAX_CHARS = 1000
    fault(upstream, lambda h: h.reply(200, b"x" * 5000, content_type="text/plain"))
    response = call_tables(bob_api, data_install)
    assert response.status_code == 200
    assert len(response.json()["text"]) == 1000
