"""The catalog under load: `python -m tests.benchmarks.bench_catalog` (part of `make bench`).

Seeds (once) a catalog of 10,000 published plugins in 1,000 organizations from the corpus
(`manage.py seed_catalog`) into BENCH_DATABASE_URL, starts one uvicorn process on it and
measures, for `/healthz` (the floor) and each catalog page:

- p50 / p95 latency of sequential requests, and p50 as a multiple of the floor's;
- throughput with 16 concurrent clients, and as a fraction of the floor's;
- the most PostgreSQL connections the server held meanwhile (pg_stat_activity);
- queries per request (counted in-process, 10k catalog);

then runs every page round-robin with 64 clients for BENCH_SOAK_SECONDS (60 by default) and
reports 5xx answers, failed requests and the connections held. Not collected by pytest.

Use a database of your own: BENCH_DATABASE_URL (default .../mkp_bench), BENCH_REDIS_URL.
BENCH_QUICK=1 shortens every phase (for trying the harness, not for figures).
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mkp_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
QUICK = os.environ.get("BENCH_QUICK") == "1"
PLUGINS = int(os.environ.get("BENCH_PLUGINS", "10000"))
ORGANIZATIONS = int(os.environ.get("BENCH_ORGANIZATIONS", "1000"))
SEQUENTIAL = 30 if QUICK else 150
CONCURRENT_SECONDS = 3 if QUICK else 10
SOAK_SECONDS = int(os.environ.get("BENCH_SOAK_SECONDS", "5" if QUICK else "60"))


def server_env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "DEBUG": "0",
        "ENVIRONMENT": "development",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
    }


def manage(*args: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=server_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def database_name() -> str:
    return urlsplit(DATABASE_URL).path.lstrip("/")


def ensure_database() -> None:
    parts = urlsplit(DATABASE_URL)
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database_name()]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database_name()}"')


def prepare() -> dict[str, str]:
    ensure_database()
    manage("migrate", "--noinput", "-v0")
    print(manage("seed_catalog", "--plugins", str(PLUGINS), "--organizations", str(ORGANIZATIONS)))
    token = manage("issue_token", "--org", "catalog-org-0", "--org-key", "--name", "bench")
    with psycopg.connect(DATABASE_URL) as conn:
        (public_id,) = conn.execute(
            "SELECT p.public_id FROM plugins_plugin p JOIN accounts_organization o"
            " ON o.id = p.organization_id WHERE o.slug LIKE 'catalog-org-%%'"
            " ORDER BY p.id LIMIT 1 OFFSET 17"
        ).fetchone()
    return {"token": token.strip().splitlines()[-1], "public_id": public_id}


@dataclass
class Page:
    name: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)


def pages(token: str, public_id: str) -> list[Page]:
    api = {"Authorization": f"Bearer {token}"}
    return [
        Page("home", "/"),
        Page("/plugins/", "/plugins/"),
        Page("search", "/plugins/?q=weather"),
        Page("search-as-you-type", "/plugins/?q=trav"),
        Page("plugin page", f"/plugins/{public_id}/"),
        Page("API list", "/api/v1/plugins/", api),
        Page("API search", "/api/v1/plugins/?search=weather", api),
    ]


class Server:
    """One uvicorn process, as the Procfile runs it."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process = subprocess.Popen(
            [
                str(Path(PYTHON).parent / "uvicorn"),
                "marketplace.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=server_env(),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if request(self.port, Page("healthz", "/healthz"))[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("uvicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def request(port: int, page: Page, conn: http.client.HTTPConnection | None = None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", page.path, headers=page.headers)
        response = conn.getresponse()
        body = response.read()
        return response.status, body
    finally:
        if own:
            conn.close()


class ConnectionSampler:
    """The most backends connected to the bench database, sampled every 50 ms."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            while not self._stop.is_set():
                (count,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                    " AND pid <> pg_backend_pid()",
                    [database_name()],
                ).fetchone()
                self.peak = max(self.peak, count)
                time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def sequential(port: int, page: Page, count: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            status, _ = request(port, page, conn)
            times.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"{page.name}: HTTP {status}")
    finally:
        conn.close()
    return times


@dataclass
class LoadResult:
    requests: int = 0
    server_errors: int = 0
    failures: int = 0
    seconds: float = 0.0
    peak_connections: int = 0

    @property
    def rps(self) -> float:
        return self.requests / max(self.seconds, 1e-9)


def load(port: int, targets: list[Page], clients: int, seconds: float) -> LoadResult:
    result = LoadResult()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = n
        done = errors = failures = 0
        while time.monotonic() < stop_at:
            page = targets[i % len(targets)]
            i += 1
            try:
                status, _ = request(port, page, conn)
            except (OSError, http.client.HTTPException):
                failures += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            done += 1
            errors += status >= 500
        conn.close()
        with lock:
            result.requests += done
            result.server_errors += errors
            result.failures += failures

    started = time.perf_counter()
    with ConnectionSampler() as sampler:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    result.seconds = time.perf_counter() - started
    result.peak_connections = sampler.peak
    return result


def query_counts(targets: list[Page]) -> dict[str, int]:
    """Queries per request, counted in this process against the same database."""
    os.environ.update(server_env())
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    counts = {}
    for page in targets:
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in page.headers.items()}
        client.get(page.path, **headers)  # warm caches the way a running server has them
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(page.path, **headers)
        assert response.status_code == 200, (page.path, response.status_code)
        counts[page.name] = len(ctx.captured_queries)
    connection.close()
    return counts


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    started = time.perf_counter()
    info = prepare()
    targets = pages(info["token"], info["public_id"])
    floor = Page("/healthz (floor)", "/healthz")
    rows = []
    server = Server()
    try:
        for page in [floor, *targets]:
            sequential(server.port, page, 10)  # warm up
            times = sequential(server.port, page, SEQUENTIAL)
            loaded = load(server.port, [page], 16, CONCURRENT_SECONDS)
            rows.append((page, times, loaded))
        soak = load(server.port, targets, 64, SOAK_SECONDS)
    finally:
        server.stop()
    counts = query_counts(targets)

    floor_p50 = statistics.median(rows[0][1])
    floor_rps = rows[0][2].rps
    print(
        f"\n### Catalog at {PLUGINS:,} plugins / {ORGANIZATIONS:,} organizations, "
        "one uvicorn process\n"
    )
    print(
        "| page | p50 | p95 | p50 x floor | req/s c=16 | x floor | peak DB conns c=16 "
        "| 5xx c=16 | queries |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for page, times, loaded in rows:
        p50, p95 = statistics.median(times), pct(times, 0.95)
        print(
            f"| {page.name} | {p50 * 1000:.1f} ms | {p95 * 1000:.1f} ms | "
            f"{p50 / floor_p50:.1f}x | {loaded.rps:.0f} | {loaded.rps / floor_rps:.2f} | "
            f"{loaded.peak_connections} | {loaded.server_errors + loaded.failures} | "
            f"{counts.get(page.name, '—')} |"
        )
    print(
        f"\nc=64 for {SOAK_SECONDS} s, all pages round-robin: {soak.requests} requests "
        f"({soak.rps:.0f}/s), {soak.server_errors} 5xx, {soak.failures} failed connections, "
        f"peak DB connections {soak.peak_connections}."
    )
    print(f"\n(benchmark ran in {time.perf_counter() - started:.0f} s; {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
