"""The async face of the outbound client (`async_fetch`): the same vetting and limits as
`fetch`, over a long-lived pool, against real loopback servers."""

from __future__ import annotations

import asyncio
import gzip

import pytest

from plugins.outbound import FetchError, async_fetch, close_loop_session, errors


def run(coro):
    async def then_close():
        try:
            return await coro
        finally:
            await close_loop_session()  # each test's loop ends here: so does its pool

    return asyncio.run(then_close())


def test_it_fetches_and_reuses_pooled_connections(serve):
    server = serve({"/a": lambda h: h.reply(200, b'{"ok": true}')})

    async def twice():
        first = await async_fetch(server.url + "/a")
        second = await async_fetch(server.url + "/a", method="POST", body=b"x")
        return first, second

    first, second = run(twice())
    assert (first.status, first.content, first.content_type) == (
        200,
        b'{"ok": true}',
        "application/json",
    )
    assert second.status == 200
    assert [s.method for s in server.seen] == ["GET", "POST"]
    assert server.connections == 1  # kept alive between the two calls


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:1/",
        "http://[::1]:8100/",
        "http://10.0.0.1/",
    ],
)
def test_it_refuses_private_and_metadata_addresses(url):
    with pytest.raises(FetchError) as caught:
        run(async_fetch(url, timeout=5))
    assert caught.value.code == errors.ADDRESS_BLOCKED


def test_it_vets_names_through_the_resolver_seam(serve, fake_dns):
    fake_dns["internal.example"] = ["10.1.2.3"]
    with pytest.raises(FetchError) as caught:
        run(async_fetch("http://internal.example:8100/", timeout=5))
    assert caught.value.code == errors.ADDRESS_BLOCKED
    assert fake_dns.lookups == ["internal.example"]


def test_it_cuts_off_a_gzip_bomb(serve):
    bomb = gzip.compress(b"0" * (20 * 1024 * 1024))
    server = serve({"/b": lambda h: h.reply(200, bomb, headers={"Content-Encoding": "gzip"})})
    with pytest.raises(FetchError) as caught:
        run(async_fetch(server.url + "/b", max_bytes=1024 * 1024))
    assert caught.value.code == errors.TOO_LARGE


def test_it_refuses_a_declared_length_above_the_cap(serve):
    server = serve({"/big": lambda h: h.reply(200, b"x" * 5000)})
    with pytest.raises(FetchError) as caught:
        run(async_fetch(server.url + "/big", max_bytes=100))
    assert caught.value.code == errors.TOO_LARGE


def test_it_ends_a_slow_answer_at_the_total_deadline(serve):
    def slow(handler):
        handler.wait(5)
        handler.reply(200, b"late")

    server = serve({"/slow": slow})
    with pytest.raises(FetchError) as caught:
        run(async_fetch(server.url + "/slow", timeout=0.5))
    assert caught.value.code == errors.TIMEOUT


def test_it_follows_redirects_hop_by_hop_and_drops_credentials_across_origins(serve):
    target = serve({"/t": lambda h: h.reply(200, b"here")})
    source = serve({"/s": lambda h: h.redirect(302, target.url + "/t")})
    result = run(
        async_fetch(
            source.url + "/s",
            headers={"Authorization": "Bearer secret", "X-Key": "k"},
            sensitive_headers=frozenset({"x-key"}),
        )
    )
    assert result.content == b"here"
    assert result.redirects == (target.url + "/t",)
    assert "authorization" not in target.seen[0].headers
    assert "x-key" not in target.seen[0].headers


def test_a_redirect_policy_can_refuse_the_next_hop(serve):
    source = serve({"/s": lambda h: h.redirect(302, "http://169.254.169.254/")})
    with pytest.raises(FetchError) as caught:
        run(async_fetch(source.url + "/s", redirect_policy=lambda a, b: False))
    assert caught.value.code == errors.REDIRECT_NOT_ALLOWED


def test_a_refused_connection_is_a_transient_connect_failure(refusing_port):
    with pytest.raises(FetchError) as caught:
        run(async_fetch(f"http://127.0.0.1:{refusing_port}/", timeout=5))
    assert caught.value.code == errors.CONNECT_FAILED
    assert caught.value.transient


def test_a_same_origin_redirect_from_a_server_that_then_hangs_up_is_followed(serve):
    """The plugin answers the redirect and closes the connection without saying so
    (no `Connection: close`): the next hop must not be sent on that dead pooled connection."""

    def redirect_and_hang_up(handler):
        handler.redirect(302, "/to")
        handler.close_connection = True

    server = serve(
        {"/from": redirect_and_hang_up, "/to": lambda h: h.reply(200, b'{"arrived": true}')}
    )
    for _ in range(3):  # the race is lost (or won) on each fresh pool
        result = run(async_fetch(server.url + "/from"))
        assert (result.status, result.content) == (200, b'{"arrived": true}')
        assert result.redirects == (server.url + "/to",)


# -- a pooled connection the server closed -------------------------------------------------


def closes_kept_alive_connections(*, answer_again: bool = True, partial: bool = False):
    """A route that answers the first request of each connection and keeps it alive, then
    drops the connection on the next request read there without answering it (as a server
    closing an idle connection just as a request crosses it): nothing was processed. With
    `answer_again=False` it drops every request after the very first; with `partial=True` it
    sends the start of an answer before hanging up."""
    answered = []

    def route(handler):
        first_on_connection = not getattr(handler, "answered_once", False)
        if first_on_connection and (answer_again or not answered):
            handler.answered_once = True
            answered.append(handler.command)
            handler.reply(200, b'{"ok": true}')
            return
        if partial:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Le")
            handler.wfile.flush()
        handler.close_connection = True

    return route


def pooled_then(server, second_method: str):
    async def twice():
        await async_fetch(server.url + "/r")  # leaves its connection in the pool
        return await async_fetch(server.url + "/r", method=second_method, body=b"{}")

    return run(twice())


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
def test_a_pooled_connection_the_server_closed_is_retried_once_on_a_fresh_one(serve, method):
    server = serve({"/r": closes_kept_alive_connections()})
    result = pooled_then(server, method)
    assert (result.status, result.content) == (200, b'{"ok": true}')
    assert [s.method for s in server.seen] == ["GET", method, method]
    assert server.connections == 2


def test_a_fresh_connection_that_dies_is_not_retried(serve):
    server = serve({"/r": closes_kept_alive_connections(answer_again=False)})
    run(async_fetch(server.url + "/r"))  # a pool of one connection, and the server's one answer

    async def on_a_fresh_pool():
        return await async_fetch(server.url + "/r", method="POST", body=b"{}")

    with pytest.raises(FetchError) as caught:
        run(on_a_fresh_pool())
    assert caught.value.code == errors.CONNECT_FAILED
    assert not caught.value.retried
    assert [s.method for s in server.seen] == ["GET", "POST"]


def test_the_retry_is_made_once_and_said(serve):
    server = serve({"/r": closes_kept_alive_connections(answer_again=False)})
    with pytest.raises(FetchError) as caught:
        pooled_then(server, "POST")
    assert caught.value.code == errors.CONNECT_FAILED
    assert caught.value.retried
    assert [s.method for s in server.seen] == ["GET", "POST", "POST"]


def test_a_pooled_connection_that_dies_mid_answer_is_not_retried(serve):
    server = serve({"/r": closes_kept_alive_connections(partial=True)})
    with pytest.raises(FetchError):
        pooled_then(server, "POST")
    assert [s.method for s in server.seen] == ["GET", "POST"]
