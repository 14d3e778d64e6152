"""The proxy, measured: `python -m tests.benchmarks.bench_proxy` (or `make bench`).

One run on loopback, as the issue asks: a trivial upstream (tests/benchmarks/trivial_upstream.py
under uvicorn, its own process) and the marketplace under uvicorn (one worker), against
PostgreSQL and Redis from DATABASE_URL / REDIS_URL (a separate `<name>_proxybench` database is
created afresh). It prints:

- latency at concurrency 1: the upstream called directly; the same call through the full
  pipeline (token, member, installation, policy, arguments, allow-list, assertion, outbound
  call, call event); the overhead (proxied minus direct) at p50 and p99; and the proxy's own
  time as reported in Server-Timing — with and without an x-filter;
- throughput at concurrency 32 through the proxy, against the same server's trivial async
  endpoint (/healthz) as the floor;
- the lookup API's p50 for a member with 50 installations in a database of 10,000 plugins and
  1,000 organizations.

Targets from the issue: overhead p50 ≤ 2 ms, p99 ≤ 5 ms; throughput ≥ 50% of the floor.
Not collected by pytest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.support.loopback import free_test_port as free_port

ROOT = Path(__file__).resolve().parents[2]
N_LATENCY = int(os.environ.get("BENCH_N", "1500"))
N_THROUGHPUT = int(os.environ.get("BENCH_N_THROUGHPUT", "4000"))
WARMUP = 300


def bench_database_url() -> str:
    import psycopg

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/marketplace")
    server, name = base.rsplit("/", 1)
    bench_name = f"{name}_proxybench"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{bench_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{bench_name}"')
    return f"{server}/{bench_name}"


def server_env(database_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        DEBUG="false",
        LOG_LEVEL="WARNING",
        PROXY_RATE_PER_USER=str(10**9),
        PROXY_RATE_PER_INSTALLATION=str(10**9),
        MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS="127.0.0.1:8100-8199",
        DJANGO_SETTINGS_MODULE="marketplace.settings",
        DB_POOL_MAX_SIZE=os.environ.get("DB_POOL_MAX_SIZE", "10"),
    )
    env.pop("TESTING", None)
    return env


@contextlib.contextmanager
def uvicorn(app: str, port: int, env: dict):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{app} did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


# -- data -----------------------------------------------------------------------------------


def seed(upstream_url: str) -> dict:
    from accounts.models import CredentialKind, Membership, Role
    from accounts.services import create_organization, create_user, issue_credential
    from plugins.installations.services import install_plugin, set_allow_list
    from tests.proxy.conftest import publish_version
    from tests.proxy.test_filters import chain
    from tests.tools.specs import data_plugin_spec

    owner = create_user(email="owner@bench.example", password="x" * 20, verified=True)
    member = create_user(email="member@bench.example", password="x" * 20, verified=True)
    org = create_organization(name="Bench", slug="bench", owner=owner)
    Membership.objects.create(organization=org, user=member, role=Role.MEMBER)
    _, token = issue_credential(
        organization=org, kind=CredentialKind.PERSONAL, name="b", created_by=member, user=member
    )
    plain = install_plugin(
        organization=org,
        version=publish_version(org, data_plugin_spec(upstream_url), base=upstream_url),
        installed_by=owner,
    )
    spec = data_plugin_spec(upstream_url)
    spec["paths"]["/databases"]["get"]["x-filter"] = chain(
        "{% for t in data %}{{ t.name }};{% endfor %}"
    )
    filtered = install_plugin(
        organization=org,
        version=publish_version(org, spec, base=upstream_url, name="filtered"),
        installed_by=owner,
    )
    for installation in (plain, filtered):
        set_allow_list(
            installation=installation,
            member=member,
            values={"database": ["sales"]},
            changed_by=owner,
        )
    # The lookup API's database: 1,000 organizations, 10,000 plugins, 50 installed here.
    lookup_org = create_organization(name="Lookup", slug="lookup", owner=owner)
    Membership.objects.create(organization=lookup_org, user=member, role=Role.MEMBER)
    _, lookup_token = issue_credential(
        organization=lookup_org,
        kind=CredentialKind.PERSONAL,
        name="l",
        created_by=member,
        user=member,
    )
    many_plugins(plain.version, lookup_org, owner)
    return {
        "token": token,
        "lookup_token": lookup_token,
        "plain": plain.pk,
        "filtered": filtered.pk,
    }


def many_plugins(template_version, lookup_org, owner) -> None:
    from django.utils import timezone

    from accounts.models import Organization
    from plugins.installations.integrity import pin_fields
    from plugins.installations.models import AllowList, Installation
    from plugins.models import Plugin, PluginVersion, ReviewState, Visibility

    orgs = Organization.objects.bulk_create(
        Organization(name=f"Org {i}", slug=f"org-{i}") for i in range(1000)
    )
    plugins = Plugin.objects.bulk_create(
        Plugin(
            organization=orgs[i % 1000],
            slug=f"p{i}",
            name=f"Plugin {i}",
            name_for_model=f"plugin_{i}",
            visibility=Visibility.PUBLIC,
            review_state=ReviewState.APPROVED,
        )
        for i in range(10_000)
    )
    now = timezone.now()
    versions = PluginVersion.objects.bulk_create(
        PluginVersion(
            organization_id=plugin.organization_id,
            plugin=plugin,
            number=1,
            source_kind="upload",
            content_sha256=f"{i:064x}",
            normalized={**template_version.normalized, "name_for_model": plugin.name_for_model},
            normalized_openapi=template_version.normalized_openapi,
            validation_state="passed",
            validated_at=now,
        )
        for i, plugin in enumerate(plugins)
    )
    installations = Installation.objects.bulk_create(
        Installation(
            organization=lookup_org,
            plugin=plugins[i],
            version=versions[i],
            installed_by=owner,
            **pin_fields(versions[i]),
        )
        for i in range(0, 10_000, 200)
    )
    member = lookup_org.memberships.exclude(user=owner).get().user
    AllowList.objects.bulk_create(
        AllowList(
            organization=lookup_org,
            installation=installation,
            user=member,
            values={"database": ["sales"], "container": ["events"]},
        )
        for installation in installations
    )


# -- load -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def sequential(session, method, url, n, **kwargs) -> tuple[list[float], list[float]]:
    """(latencies ms, Server-Timing proxy durations ms) of n requests one after another."""
    latencies, proxy = [], []
    for _ in range(n):
        started = time.perf_counter()
        async with session.request(method, url, **kwargs) as response:
            await response.read()
            assert response.status == 200, (response.status, await response.text())
            timing = response.headers.get("Server-Timing", "")
        latencies.append((time.perf_counter() - started) * 1000)
        if timing.startswith("proxy;dur="):
            proxy.append(float(timing.split("dur=", 1)[1].split(",", 1)[0]))
    return latencies, proxy


async def throughput(session, method, url, n, concurrency, **kwargs) -> float:
    """Requests per second with `concurrency` requests in flight."""
    remaining = n

    async def worker():
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            async with session.request(method, url, **kwargs) as response:
                await response.read()
                assert response.status == 200, response.status

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - started)


async def measure(upstream: str, site: str, data: dict) -> dict:
    auth = {"Authorization": f"Bearer {data['token']}"}
    query = {"arguments": {"database": "sales", "question": "how many orders?"}}
    call = f"{site}/api/v1/installations/{data['plain']}/operations/querySqlDatabase/call"
    filtered = f"{site}/api/v1/installations/{data['filtered']}/operations/listTables/call"
    unfiltered = f"{site}/api/v1/installations/{data['plain']}/operations/listTables/call"
    results: dict = {}
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:
        for name, method, url, kwargs in (
            ("floor", "GET", f"{site}/healthz", {}),
            ("direct", "POST", f"{upstream}/query", {"json": query["arguments"]}),
            ("proxied", "POST", call, {"json": query, "headers": auth}),
            ("direct_get", "GET", f"{upstream}/databases", {}),
            ("proxied_get", "POST", unfiltered, {"json": {"arguments": {}}, "headers": auth}),
            ("filtered_get", "POST", filtered, {"json": {"arguments": {}}, "headers": auth}),
        ):
            await sequential(session, method, url, WARMUP, **kwargs)
            results[name] = await sequential(session, method, url, N_LATENCY, **kwargs)
        floor_url = f"{site}/healthz"
        await throughput(session, "GET", floor_url, WARMUP, 32)
        results["floor_rps"] = await throughput(session, "GET", floor_url, N_THROUGHPUT, 32)
        results["proxied_rps"] = await throughput(
            session, "POST", call, N_THROUGHPUT, 32, json=query, headers=auth
        )
        results["filtered_rps"] = await throughput(
            session, "POST", filtered, N_THROUGHPUT // 2, 32, json={"arguments": {}}, headers=auth
        )
        lookup = f"{site}/api/v1/installed-plugins/?limit=50"
        lookup_auth = {"Authorization": f"Bearer {data['lookup_token']}"}
        async with session.get(lookup, headers=lookup_auth) as response:
            body = await response.json()
            assert len(body) == 50, len(body)
        results["lookup"] = await sequential(session, "GET", lookup, 100, headers=lookup_auth)
    return results


def report(results: dict) -> str:
    def row(label, values):
        return f"| {label} | {percentile(values, 0.5):.2f} | {percentile(values, 0.99):.2f} |"

    direct, _ = results["direct"]
    floor, _ = results["floor"]
    proxied, proxy_self = results["proxied"]
    direct_get, _ = results["direct_get"]
    proxied_get, _ = results["proxied_get"]
    filtered_get, filtered_self = results["filtered_get"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"## Proxy benchmark (loopback, concurrency 1, n={N_LATENCY})",
        "",
        f"machine load average (1/5/15 min) at the end: {load} on {os.cpu_count()} cores"
        " (other work on the machine inflates every figure; compare the ratios)",
        "",
        "| path | p50 ms | p99 ms |",
        "|---|---|---|",
        row("floor: the same server's trivial async endpoint (/healthz)", floor),
        row("upstream direct (POST /query)", direct),
        row("through the proxy (querySqlDatabase, allow-listed database)", proxied),
        row("proxy's own time (Server-Timing), no x-filter", proxy_self),
        row("upstream direct (GET /databases)", direct_get),
        row("through the proxy (listTables)", proxied_get),
        row("through the proxy (listTables with an x-filter)", filtered_get),
        row("proxy's own time with the x-filter", filtered_self),
        "",
        "overhead (proxied - direct): "
        f"p50 {percentile(proxied, 0.5) - percentile(direct, 0.5):.2f} ms,"
        f" p99 {percentile(proxied, 0.99) - percentile(direct, 0.99):.2f} ms (targets 2 / 5 ms)",
        "overhead beyond the server's own floor (proxied - direct - floor): "
        f"p50 {percentile(proxied, 0.5) - percentile(direct, 0.5) - percentile(floor, 0.5):.2f}"
        " ms",
        f"x-filter overhead (filtered - unfiltered listTables): p50 "
        f"{percentile(filtered_get, 0.5) - percentile(proxied_get, 0.5):.2f} ms",
        "",
        "## Throughput at concurrency 32",
        "",
        "| path | requests/s | vs floor |",
        "|---|---|---|",
        f"| floor: /healthz (async, same server) | {results['floor_rps']:.0f} | 1.00 |",
        f"| through the proxy | {results['proxied_rps']:.0f} | "
        f"{results['proxied_rps'] / results['floor_rps']:.2f} |",
        f"| through the proxy with an x-filter | {results['filtered_rps']:.0f} | "
        f"{results['filtered_rps'] / results['floor_rps']:.2f} |",
        "",
        "target: proxied ≥ 0.50 of the floor",
        "",
        "## Lookup API",
        "",
        f"GET /api/v1/installed-plugins/ for a member with 50 installations (10,000 plugins, "
        f"1,001 organizations): p50 {percentile(results['lookup'][0], 0.5):.1f} ms, "
        f"p99 {percentile(results['lookup'][0], 0.99):.1f} ms",
    ]
    return "\n".join(lines)


def main() -> None:
    database_url = bench_database_url()
    env = server_env(database_url)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")})
    os.environ["MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS"] = env[
        "MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS"
    ]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    upstream_port, site_port = free_port(), free_port()
    while site_port == upstream_port:
        site_port = free_port()
    with uvicorn("tests.benchmarks.trivial_upstream:app", upstream_port, env) as upstream:
        data = seed(upstream)
        with uvicorn("marketplace.asgi:application", site_port, env) as site:
            results = asyncio.run(measure(upstream, site, data))
    print(report(results))
    json_path = os.environ.get("BENCH_JSON")
    if json_path:
        Path(json_path).write_text(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
