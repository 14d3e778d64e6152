"""aiohttp against httpx for the proxy's upstream pool, chosen by measurement (`make bench`).

`compare_pools(url, ...)` drives the same requests at the same concurrency against the same
upstream through two pools with the same vetting, in alternating rounds so that a change in
machine load hits both:

- "aiohttp": `aio.async_fetch`, the pool the proxy uses;
- "httpx": an `httpx.AsyncClient` over an `httpcore.AsyncConnectionPool` whose network backend
  resolves through `transport.resolve` and vets every address with `aio`'s rule before it
  connects; URL, headers and arguments checked by the same functions, the body capped while
  streaming, a total deadline. (Redirects are not followed here: the benchmark's upstream never
  redirects, so neither pool pays for them.)

Bench-only: tests/benchmarks/bench_proxy.py calls it; nothing on a request path imports it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time

import httpcore
import httpx

from plugins.outbound import aio, errors, transport
from plugins.outbound.client import checked_request
from plugins.outbound.decoding import _decoder_for, _too_large
from plugins.outbound.errors import FetchError
from plugins.outbound.urls import vet_url


class _VettedAsyncBackend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend, connecting only to addresses `aio._vet` lets through."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host, port, timeout=None, local_address=None, socket_options=None
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addresses = await asyncio.to_thread(transport.resolve, host, port)
            except OSError:
                addresses = []
            if not addresses:
                raise FetchError(
                    errors.DNS_FAILED, "The host name could not be resolved."
                ) from None
        for ip in addresses:
            aio._vet(host, ip, port)
        return await self._inner.connect_tcp(
            addresses[0],
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - retries are off
        await asyncio.sleep(seconds)


class _Stream(httpx.AsyncByteStream):
    def __init__(self, inner) -> None:
        self._inner = inner

    async def __aiter__(self):
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _PoolTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=transport.default_ssl_context(),
            max_connections=aio.POOL_LIMIT,
            max_keepalive_connections=aio.POOL_LIMIT_PER_HOST,
            keepalive_expiry=aio.KEEPALIVE_SECONDS,
            retries=0,
            network_backend=_VettedAsyncBackend(),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._pool.handle_async_request(transport.core_request(request))
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Stream(response.stream),
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


async def httpx_fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    max_bytes: int,
    timeout: float,
) -> tuple[int, bytes]:
    """(status, decoded body) through the httpx pool, under the rules `async_fetch` keeps."""
    method, request_headers, _sensitive = checked_request(
        method=method,
        headers=headers,
        sensitive_headers=frozenset(),
        body=body,
        max_bytes=max_bytes,
        timeout=timeout,
        connect_timeout=5.0,
        max_redirects=0,
    )
    target = vet_url(url)
    async with (
        asyncio.timeout(timeout),
        client.stream(method, str(target), headers=request_headers, content=body) as response,
    ):
        decoder = _decoder_for(response.headers.get("content-encoding", ""))
        received, content = 0, bytearray()
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > max_bytes:
                raise _too_large()
            content += decoder.decode(chunk, limit=max_bytes - len(content))
        decoder.finish()
        return response.status_code, bytes(content)


async def _drive(send, n: int, concurrency: int) -> tuple[float, list[float]]:
    """(requests per second, latencies in ms) of n sends with `concurrency` in flight."""
    remaining, latencies = n, []

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            status = await send()
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"the upstream answered {status}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - started), latencies


async def compare_pools(
    url: str,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    n: int = 2000,
    concurrency: int = 32,
    rounds: int = 3,
) -> dict[str, dict]:
    """{"aiohttp": {...}, "httpx": {...}}: the best round's requests/s and its p50/p99 ms."""
    max_bytes, timeout = 1024 * 1024, 45.0

    async def via_aiohttp() -> int:
        result = await aio.async_fetch(
            url, method=method, headers=headers, body=body, max_bytes=max_bytes, timeout=timeout
        )
        return result.status

    client = httpx.AsyncClient(transport=_PoolTransport())

    async def via_httpx() -> int:
        status, _ = await httpx_fetch(
            client,
            url,
            method=method,
            headers=headers,
            body=body,
            max_bytes=max_bytes,
            timeout=timeout,
        )
        return status

    pools = {"aiohttp": via_aiohttp, "httpx": via_httpx}
    results: dict[str, dict] = {}
    try:
        for send in pools.values():  # warm both pools (connections opened, code paths hot)
            await _drive(send, min(n, 200), concurrency)
        for _ in range(rounds):
            for name, send in pools.items():
                rps, latencies = await _drive(send, n, concurrency)
                latencies.sort()
                best = results.get(name)
                if best is None or rps > best["rps"]:
                    results[name] = {
                        "rps": rps,
                        "p50_ms": latencies[len(latencies) // 2],
                        "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
                    }
    finally:
        await client.aclose()
        await aio.close_loop_session()
    return results
