"""PostgreSQL connections are pooled: a uvicorn process under concurrent load holds at most
DB_POOL_MAX_SIZE of them and answers every request (the long c=64 run is `make bench`), and a
prefork Celery worker's processes keep theirs from one task to the next."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.support.catalog import publish

ROOT = Path(__file__).resolve().parents[2]
APP_NAME = "mkp-pool-test"


def database_url() -> str:
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or "5432"
    return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}?application_name={APP_NAME}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def web_server(tmp_path):
    """One uvicorn process, as the Procfile starts it, on the test database."""

    def start(**env):
        port = free_port()
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "marketplace.asgi:application"),
                *("--host", "127.0.0.1", "--port", str(port), "--no-access-log"),
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url(),
                "REDIS_URL": settings.REDIS_URL,
                "DATA_DIR": str(tmp_path),
                "SECRET_KEY": "pool-test-" + "k" * 40,
                "DEBUG": "false",
                "LOG_LEVEL": "WARNING",
                **env,
            },
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "uvicorn.log", "w"),  # noqa: SIM115
        )
        started.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if get(port, "/healthz") == 200:
                    return port
            except OSError:
                time.sleep(0.2)
        raise AssertionError("uvicorn did not start: " + (tmp_path / "uvicorn.log").read_text())

    started: list[subprocess.Popen] = []
    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def get(port: int, path: str, conn: http.client.HTTPConnection | None = None) -> int:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        if own:
            conn.close()


def server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APP_NAME]
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_it_holds_at_most_the_pool_size_and_answers_every_request_under_load(globex, web_server):
    plugins = [publish(globex, f"Weather {i}", description="Forecasts.") for i in range(30)]
    port = web_server(DB_POOL_MAX_SIZE="3", DB_POOL_MIN_SIZE="1")
    paths = ["/", "/plugins/", "/plugins/?q=weather", "/plugins/?page=2"] + [
        f"/plugins/{p.public_id}/" for p in plugins[:4]
    ]
    statuses: list[int] = []
    peak = 0

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for i in range(25):
            statuses.append(get(port, paths[(n + i) % len(paths)], conn))
        conn.close()

    clients = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in clients:
        thread.start()
    while any(thread.is_alive() for thread in clients):
        peak = max(peak, server_connections())
        time.sleep(0.02)

    assert len(statuses) == 16 * 25
    assert set(statuses) == {200}
    assert 1 <= peak <= 3


@pytest.mark.django_db(transaction=True)
def test_connections_go_back_to_the_pool_after_each_request(globex, web_server):
    # Were a connection kept by a finished request, the third one would wait for it and fail.
    port = web_server(DB_POOL_MAX_SIZE="2", DB_POOL_MIN_SIZE="0", DB_POOL_TIMEOUT="5")

    statuses = [get(port, "/plugins/") for _ in range(40)]

    assert set(statuses) == {200}
    assert 1 <= server_connections() <= 2


WORKER_APP_NAME = "mkp-pool-test-worker"


@pytest.mark.django_db(transaction=True)
def test_a_prefork_worker_keeps_one_pooled_connection_per_process_across_tasks(tmp_path):
    # Celery's Django fixup used to close each process's pool around every task, so every task
    # connected anew (settings.CELERY_DB_REUSE_MAX; marketplace/celery.py gives connections back).
    import redis

    from marketplace.celery import app

    queue = f"pool-test-{os.getpid()}"
    url = database_url().replace(APP_NAME, WORKER_APP_NAME)
    worker = subprocess.Popen(
        [
            *(str(Path(sys.executable).parent / "celery"), "-A", "marketplace", "worker"),
            *("--concurrency", "2", "--queues", queue, "--hostname", f"{queue}@%h"),
            *("--loglevel", "WARNING", "--without-heartbeat", "--without-mingle"),
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": settings.REDIS_URL,
            "DATA_DIR": str(tmp_path),
            "SECRET_KEY": "pool-test-" + "k" * 40,
            "DEBUG": "false",
            "DB_POOL_MIN_SIZE": "0",  # a connection is opened when a task first asks
        },
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "worker.log", "w"),  # noqa: SIM115
    )
    broker = redis.Redis.from_url(settings.REDIS_URL)
    seen: set[int] = set()
    try:
        for _ in range(40):  # each reads the database (the reaper finds nothing to do)
            app.send_task("plugins.tasks.reap_stale_validation_runs", queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen |= set(worker_backends())
            if broker.llen(queue) == 0 and not broker.hlen("unacked") and seen:
                break
            time.sleep(0.01)
        time.sleep(0.5)
        seen |= set(worker_backends())
        remaining = worker_backends()
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    assert broker.llen(queue) == 0, (tmp_path / "worker.log").read_text()
    assert 1 <= len(seen) <= 2  # one connection per process, kept by its pool throughout
    assert remaining  # still pooled after the tasks, not closed with the pool


def worker_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [WORKER_APP_NAME]
        )
        return [row[0] for row in cursor.fetchall()]
