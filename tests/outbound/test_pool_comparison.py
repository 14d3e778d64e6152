"""The bench's httpx contender (plugins/outbound/pool_comparison.py) keeps the outbound rules,
so the head-to-head with aiohttp compares pools, not a pool with a shortcut."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from plugins.outbound import FetchError
from plugins.outbound.pool_comparison import _PoolTransport, compare_pools, httpx_fetch


def fetch_through_httpx(url: str, **kwargs):
    async def go():
        async with httpx.AsyncClient(transport=_PoolTransport()) as client:
            return await httpx_fetch(client, url, max_bytes=1024, timeout=5, **kwargs)

    return asyncio.run(go())


def test_httpx_contender_refuses_a_name_that_resolves_to_a_blocked_address(fake_dns):
    fake_dns["metadata.example"] = ["169.254.169.254"]
    with pytest.raises(FetchError) as caught:
        fetch_through_httpx("http://metadata.example/latest/")
    assert caught.value.code == "outbound.address_blocked"
    assert fake_dns.lookups == ["metadata.example"]


def test_httpx_contender_caps_the_body_and_checks_headers(serve):
    server = serve({"/big": lambda h: h.reply(200, b"x" * 5000)})
    with pytest.raises(FetchError) as caught:
        fetch_through_httpx(server.url + "/big")
    assert caught.value.code == "outbound.too_large"
    with pytest.raises(ValueError, match="Host"):
        fetch_through_httpx(server.url + "/big", headers={"Host": "elsewhere"})


def test_both_pools_answer_the_same_requests(serve):
    server = serve({"/q": lambda h: h.reply(200, b'{"ok": true}')})
    results = asyncio.run(compare_pools(server.url + "/q", n=40, concurrency=4, rounds=1))
    assert set(results) == {"aiohttp", "httpx"}
    assert all(r["rps"] > 0 and r["p50_ms"] <= r["p99_ms"] for r in results.values())
    assert len(server.seen) == 2 * (40 + 40)  # warm-up and one round each, all answered
