"""The proxy, measured: `python -m tests.benchmarks.bench_proxy` (or `make bench`).

One run on loopback, as the issue asks: a trivial upstream (tests/benchmarks/trivial_upstream.py
under uvicorn, its own process) and the marketplace under uvicorn (one worker), against
PostgreSQL and Redis from DATABASE_URL / REDIS_URL (a separate `<name>_proxybench` database is
created afresh). It prints:

- latency at concurrency 1: the upstream called directly; the same call through the full
  pipeline (token, member, installation, policy, arguments, allow-list, assertion, the
  publisher's service key from the vault, outbound call, call event), the paths interleaved
  request by request so that they share the machine's load (in a new order each round, so
  that no path always follows the same neighbour); the overhead (proxied minus
  direct) at p50 and p99; and the proxy's own time as reported in Server-Timing — with and
  without an x-filter;
- throughput at concurrency 32 through the proxy, against the same server's trivial async
  endpoint (/healthz) as the floor;
- the server's CPU time per request (less sensitive than wall clock to a busy machine);
- aiohttp against httpx as the upstream pool (plugins/outbound/pool_comparison.py);
- the lookup API's p50 for a member with 50 installations in a database of 10,000 plugins and
  1,000 organizations.

Targets from the issue: overhead p50 ≤ 2 ms, p99 ≤ 5 ms; throughput ≥ 50% of the floor.
BENCH_N (rounds at concurrency 1), BENCH_N_THROUGHPUT and BENCH_N_CPU size the phases;
BENCH_PROFILE=<file> runs the server under cProfile and prints where its time went (the
figures of such a run are the profiler's, not the proxy's). Use a PostgreSQL of your own for
DATABASE_URL (the seed adds 10,000 plugins). Not collected by pytest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
N_LATENCY = int(os.environ.get("BENCH_N", "1500"))
N_THROUGHPUT = int(os.environ.get("BENCH_N_THROUGHPUT", "4000"))
N_CPU = int(os.environ.get("BENCH_N_CPU", "500"))
WARMUP = 300
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A port the OS says is free now (not 8100-8199, where other test servers live)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bench_database_url() -> str:
    import psycopg

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/marketplace")
    server, name = base.rsplit("/", 1)
    bench_name = f"{name}_proxybench"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{bench_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{bench_name}"')
    return f"{server}/{bench_name}"


def server_env(database_url: str, upstream_port: int) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        DEBUG="false",
        LOG_LEVEL="WARNING",
        PROXY_RATE_PER_USER=str(10**9),
        PROXY_RATE_PER_INSTALLATION=str(10**9),
        MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS=f"127.0.0.1:{upstream_port}",
        DJANGO_SETTINGS_MODULE="marketplace.settings",
        DB_POOL_MAX_SIZE=os.environ.get("DB_POOL_MAX_SIZE", "10"),
    )
    env.pop("TESTING", None)
    return env


@dataclass
class Server:
    url: str
    pid: int


@contextlib.contextmanager
def uvicorn(app: str, port: int, env: dict, profile: str = ""):
    """The app under uvicorn (uvloop and httptools when installed: uvicorn's "auto"); under
    cProfile, written to `profile` when it stops, if asked."""
    runner = ["-m", "cProfile", "-o", profile] if profile else []
    process = subprocess.Popen(
        [
            sys.executable,
            *runner,
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
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{app} exited with {process.returncode}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{app} did not start")
        yield Server(url=f"http://127.0.0.1:{port}", pid=process.pid)
    finally:
        process.send_signal(signal.SIGINT)  # a clean exit, so cProfile writes its file
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its live descendants (the sandbox's workers):
    less sensitive than wall clock to the other work on the machine."""
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


# -- data -----------------------------------------------------------------------------------


def seed(upstream_url: str) -> dict:
    from accounts.models import CredentialKind, Membership, Role
    from accounts.services import create_organization, create_user, issue_credential
    from plugins.credentials.services import set_service_credential
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
    # A service key, so the measured path injects a credential (vault, cache) like most plugins.
    auth = {"type": "service_http", "authorization_type": "bearer"}
    plain = install_plugin(
        organization=org,
        version=publish_version(org, data_plugin_spec(upstream_url), base=upstream_url, auth=auth),
        installed_by=owner,
    )
    spec = data_plugin_spec(upstream_url)
    spec["paths"]["/databases"]["get"]["x-filter"] = chain(
        "{% for t in data %}{{ t.name }};{% endfor %}"
    )
    filtered = install_plugin(
        organization=org,
        version=publish_version(org, spec, base=upstream_url, name="filtered", auth=auth),
        installed_by=owner,
    )
    for installation in (plain, filtered):
        set_service_credential(plugin=installation.plugin, token="bench-service-key", set_by=owner)
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


async def once(session, method, url, **kwargs) -> tuple[float, dict[str, float]]:
    """(latency ms, the Server-Timing durations by name: `proxy`, the proxy's own time, and
    `upstream`, the upstream leg as the proxy timed it; empty off the proxy) of one request."""
    started = time.perf_counter()
    async with session.request(method, url, **kwargs) as response:
        await response.read()
        assert response.status == 200, (response.status, await response.text())
        timing = response.headers.get("Server-Timing", "")
    latency = (time.perf_counter() - started) * 1000
    durations = {}
    for metric in timing.split(","):
        name, _, duration = metric.strip().partition(";dur=")
        if duration:
            durations[name] = float(duration)
    return latency, durations


async def interleaved(session, paths: dict, n: int) -> dict:
    """Every path once per round, n rounds: the paths see the same machine load, so their
    differences (the overhead) are fair even when the machine is busy. Each round takes the
    paths in a new order (shuffled, seeded: the same orders every run), so that no path always
    follows the same neighbour: a request leaves work behind in the server after its answer is
    out (Django's /healthz, the floor, does), and in a fixed order that work always fell on the
    same later path — the proxied POST, two requests after /healthz, measured 0.14-0.18 ms
    slower at p50 than with /healthz moved before the GET, which then took the same surplus.
    Per path: (latencies, the proxy's own times, the upstream legs as the proxy timed them)."""
    results = {name: ([], [], []) for name in paths}
    names, orders = list(paths), random.Random(len(paths) * n)
    for _ in range(n):
        orders.shuffle(names)
        for name in names:
            method, url, kwargs = paths[name]
            latency, durations = await once(session, method, url, **kwargs)
            results[name][0].append(latency)
            if "proxy" in durations:
                results[name][1].append(durations["proxy"])
            if "upstream" in durations:
                results[name][2].append(durations["upstream"])
    return results


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


async def measure(upstream: str, site: Server, data: dict) -> dict:
    auth = {"Authorization": f"Bearer {data['token']}"}
    query = {"arguments": {"database": "sales", "question": "how many orders?"}}
    base = f"{site.url}/api/v1/installations"
    paths = {
        "floor": ("GET", f"{site.url}/healthz", {}),
        "direct": ("POST", f"{upstream}/query", {"json": query["arguments"]}),
        "proxied": (
            "POST",
            f"{base}/{data['plain']}/operations/querySqlDatabase/call",
            {"json": query, "headers": auth},
        ),
        "direct_get": ("GET", f"{upstream}/databases", {}),
        "proxied_get": (
            "POST",
            f"{base}/{data['plain']}/operations/listTables/call",
            {"json": {"arguments": {}}, "headers": auth},
        ),
        "filtered_get": (
            "POST",
            f"{base}/{data['filtered']}/operations/listTables/call",
            {"json": {"arguments": {}}, "headers": auth},
        ),
    }
    results: dict = {}
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:
        await interleaved(session, paths, WARMUP)
        results["latency"] = await interleaved(session, paths, N_LATENCY)
        results["cpu_ms"] = {}
        for name in ("floor", "proxied", "proxied_get", "filtered_get"):
            method, url, kwargs = paths[name]
            before = cpu_seconds(site.pid)
            for _ in range(N_CPU):
                await once(session, method, url, **kwargs)
            results["cpu_ms"][name] = (cpu_seconds(site.pid) - before) * 1000 / N_CPU
        rps: dict[str, list[float]] = {}
        for name in ("floor", "direct", "proxied", "filtered_get") * 2:  # alternating: best of 2
            method, url, kwargs = paths[name]
            count = N_THROUGHPUT if name != "filtered_get" else N_THROUGHPUT // 2
            await throughput(session, method, url, min(count, WARMUP), 32, **kwargs)
            rps.setdefault(name, []).append(
                await throughput(session, method, url, count, 32, **kwargs)
            )
        results["rps"] = {name: max(values) for name, values in rps.items()}
        lookup = f"{site.url}/api/v1/installed-plugins/?limit=50"
        lookup_auth = {"Authorization": f"Bearer {data['lookup_token']}"}
        async with session.get(lookup, headers=lookup_auth) as response:
            body = await response.json()
            assert len(body) == 50, len(body)
        lookups = await interleaved(
            session, {"lookup": ("GET", lookup, {"headers": lookup_auth})}, 100
        )
        results["lookup"] = lookups["lookup"][0]
    from plugins.outbound.pool_comparison import compare_pools

    results["pools"] = await compare_pools(
        f"{upstream}/query",
        headers={"Content-Type": "application/json"},
        body=json.dumps(query["arguments"]).encode(),
        n=N_THROUGHPUT // 2,
        concurrency=32,
        rounds=2,
    )
    return results


def report(results: dict, load_before: str) -> str:
    latency = results["latency"]

    def p(name, q, own=False, leg=False):
        return percentile(latency[name][2 if leg else 1 if own else 0], q)

    def row(label, name, own=False, leg=False):
        return f"| {label} | {p(name, 0.5, own, leg):.2f} | {p(name, 0.99, own, leg):.2f} |"

    cpu, rps, pools = results["cpu_ms"], results["rps"], results["pools"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    overhead_cpu = cpu["proxied"] - cpu["floor"]
    lines = [
        f"## Proxy benchmark (loopback, concurrency 1, n={N_LATENCY} interleaved rounds)",
        "",
        f"machine load average (1/5/15 min): {load_before} at the start, {load} at the end, on"
        f" {os.cpu_count()} cores (other work on the machine inflates every wall-clock figure;"
        " the paths are interleaved request by request so they share the same load, and the"
        " server's CPU time per request is reported too)",
        "",
        "| path | p50 ms | p99 ms |",
        "|---|---|---|",
        row("floor: the same server's trivial async endpoint (/healthz)", "floor"),
        row("upstream direct (POST /query)", "direct"),
        row("through the proxy (querySqlDatabase, allow-listed database)", "proxied"),
        row("proxy's own time (Server-Timing), no x-filter", "proxied", own=True),
        row("its upstream leg as the proxy timed it (Server-Timing)", "proxied", leg=True),
        row("upstream direct (GET /databases)", "direct_get"),
        row("through the proxy (listTables)", "proxied_get"),
        row("proxy's own time (Server-Timing), listTables", "proxied_get", own=True),
        row("its upstream leg as the proxy timed it (Server-Timing)", "proxied_get", leg=True),
        row("through the proxy (listTables with an x-filter)", "filtered_get"),
        row("proxy's own time with the x-filter", "filtered_get", own=True),
        "",
        "overhead (proxied - direct, querySqlDatabase): "
        f"p50 {p('proxied', 0.5) - p('direct', 0.5):.2f} ms,"
        f" p99 {p('proxied', 0.99) - p('direct', 0.99):.2f} ms (targets 2 / 5 ms)",
        "overhead without an x-filter (listTables - direct GET): "
        f"p50 {p('proxied_get', 0.5) - p('direct_get', 0.5):.2f} ms,"
        f" p99 {p('proxied_get', 0.99) - p('direct_get', 0.99):.2f} ms",
        "overhead with the x-filter (filtered listTables - direct GET): "
        f"p50 {p('filtered_get', 0.5) - p('direct_get', 0.5):.2f} ms,"
        f" p99 {p('filtered_get', 0.99) - p('direct_get', 0.99):.2f} ms"
        f" (the filter's own share: p50 {p('filtered_get', 0.5) - p('proxied_get', 0.5):.2f} ms)",
        "",
        f"server CPU per request (n={N_CPU} each, user+system, sandbox workers included):"
        f" floor {cpu['floor']:.2f} ms, proxied {cpu['proxied']:.2f} ms"
        f" (overhead {overhead_cpu:.2f} ms), listTables {cpu['proxied_get']:.2f} ms,"
        f" with the x-filter {cpu['filtered_get']:.2f} ms",
        "",
        "## Throughput at concurrency 32 (best of two alternating runs)",
        "",
        "| path | requests/s | vs floor |",
        "|---|---|---|",
        f"| floor: /healthz (async, same server) | {rps['floor']:.0f} | 1.00 |",
        f"| through the proxy (querySqlDatabase) | {rps['proxied']:.0f} | "
        f"{rps['proxied'] / rps['floor']:.2f} |",
        f"| stricter floor: the trivial upstream itself (bare ASGI, no Django) | "
        f"{rps['direct']:.0f} | {rps['direct'] / rps['floor']:.2f} |",
        f"| through the proxy with an x-filter | {rps['filtered_get']:.0f} | "
        f"{rps['filtered_get'] / rps['floor']:.2f} |",
        "",
        "target: proxied ≥ 0.50 of the floor. The call path is served ahead of Django"
        " (plugins/proxy/asgi.py) while /healthz crosses Django's middleware, so the proxy"
        " against the bare ASGI upstream is the stricter ratio:"
        f" {rps['proxied'] / rps['direct']:.2f}",
        "",
        "## The upstream pool: aiohttp against httpx (same vetting, c=32, best of two rounds)",
        "",
        "| pool | requests/s | p50 ms | p99 ms |",
        "|---|---|---|---|",
        *(
            f"| {name} | {pools[name]['rps']:.0f} | {pools[name]['p50_ms']:.2f} |"
            f" {pools[name]['p99_ms']:.2f} |"
            for name in ("aiohttp", "httpx")
        ),
        "",
        f"aiohttp / httpx throughput: {pools['aiohttp']['rps'] / pools['httpx']['rps']:.2f}x",
        "",
        "## Lookup API",
        "",
        "GET /api/v1/installed-plugins/ for a member with 50 installations (10,000 plugins, "
        f"1,001 organizations): p50 {percentile(results['lookup'], 0.5):.1f} ms, "
        f"p99 {percentile(results['lookup'], 0.99):.1f} ms",
    ]
    return "\n".join(lines)


def print_profile(path: str) -> None:
    import pstats

    print(f"\n## Profile of the server (cProfile, {path}; figures above are slowed by it)\n")
    stats = pstats.Stats(path)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats("plugins|accounts|marketplace", 40)


def main() -> None:
    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    database_url = bench_database_url()
    upstream_port, site_port = free_port(), free_port()
    while site_port == upstream_port:
        site_port = free_port()
    env = server_env(database_url, upstream_port)
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "DJANGO_SETTINGS_MODULE",
        "MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS",
    ):
        os.environ[name] = env[name]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    profile = os.environ.get("BENCH_PROFILE", "")
    with uvicorn("tests.benchmarks.trivial_upstream:app", upstream_port, env) as upstream:
        data = seed(upstream.url)
        with uvicorn("marketplace.asgi:application", site_port, env, profile) as site:
            results = asyncio.run(measure(upstream.url, site, data))
    print(report(results, load_before))
    if profile:
        print_profile(profile)
    json_path = os.environ.get("BENCH_JSON")
    if json_path:
        Path(json_path).write_text(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
