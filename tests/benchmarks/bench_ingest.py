"""Validation throughput of one Celery worker: `python -m tests.benchmarks.bench_ingest`.

Registers every corpus entry by upload (one organization each, so nothing merges) into a fresh
database (BENCH_INGEST_DATABASE_URL, default .../mkp_bench_ingest, dropped and recreated), then
starts one worker as the Procfile does (prefork, BENCH_WORKER_CONCURRENCY processes, default 2)
and reports plugins validated per second, from the first run's start to the last run's end,
next to the validator alone in this process (validate_plugin over the same entries) as the
baseline of the same run. Not collected by pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get(
    "BENCH_INGEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mkp_bench_ingest"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
CONCURRENCY = os.environ.get("BENCH_WORKER_CONCURRENCY", "2")


def env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
    }


def fresh_database() -> None:
    name = urlsplit(DATABASE_URL).path.lstrip("/")
    admin = urlsplit(DATABASE_URL)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env(),
        check=True,
    )


def main() -> int:
    fresh_database()
    os.environ.update(env())
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from accounts.models import Organization
    from marketplace.celery import app
    from plugins.models import ValidationRun
    from plugins.registration import SubmissionRejected, register_plugin_by_upload
    from plugins.validation import validate_plugin
    from plugins.validation.corpus import iter_entries

    entries = list(iter_entries(Path(settings.MARKETPLACE_CORPUS_DIR)))
    started = time.perf_counter()
    for entry in entries:
        validate_plugin(entry.source)
    alone = len(entries) / (time.perf_counter() - started)

    app.control.purge()
    rejected = 0
    for i, entry in enumerate(entries):
        org = Organization.objects.create(name=f"Ingest {i}", slug=f"ingest-{i}")
        try:
            register_plugin_by_upload(
                organization=org,
                manifest=entry.source.manifest,
                openapi=entry.source.openapi,
                origin=entry.source.origin or "",
                visibility="public",
                submitted_by=None,
            )
        except SubmissionRejected:
            rejected += 1
    queued = ValidationRun.objects.count()
    connection.close()

    worker = subprocess.Popen(
        [
            *(str(Path(sys.executable).parent / "celery"), "-A", "marketplace", "worker"),
            *("--concurrency", CONCURRENCY, "--loglevel", "WARNING", "--without-heartbeat"),
        ],
        cwd=ROOT,
        env=env(),
    )
    try:
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            open_runs = ValidationRun.objects.filter(finished_at__isnull=True).count()
            connection.close()
            if open_runs == 0:
                break
            time.sleep(1)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    runs = ValidationRun.objects.all()
    first = min(r.started_at for r in runs if r.started_at)
    last = max(r.finished_at for r in runs if r.finished_at)
    seconds = (last - first).total_seconds()
    by_status: dict[str, int] = {}
    for run in runs:
        by_status[run.status] = by_status.get(run.status, 0) + 1
    worker_rate = queued / max(seconds, 1e-9)
    print(f"\n### Validation throughput over the corpus ({len(entries)} entries)\n")
    print("| measure | plugins/s | x validator alone |")
    print("|---|---:|---:|")
    print(f"| validate_plugin alone, one process (baseline) | {alone:.1f} | 1.00 |")
    print(
        f"| one worker, {CONCURRENCY} processes: {queued} runs in {seconds:.1f} s | "
        f"{worker_rate:.1f} | {worker_rate / alone:.2f} |"
    )
    print(f"\nruns by status: {by_status}; {rejected} uploads refused at registration.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
