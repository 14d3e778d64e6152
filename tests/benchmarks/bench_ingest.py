"""Validation throughput of one Celery worker: `python -m tests.benchmarks.bench_ingest`.

Registers every corpus entry by upload (one organization each, so nothing merges) into a fresh
database (BENCH_INGEST_DATABASE_URL, default .../mkp_bench_ingest, dropped and recreated), then
starts the workers as the Procfile does: the validation worker (prefork,
BENCH_WORKER_CONCURRENCY processes, default 2, queue `celery`) and the link checker (threads,
queue `links`). It reports plugins validated per second, from the first run's start to the last
verdict, next to the validator alone in this process (validate_plugin over the same entries) as
the baseline of the same run and issue 8's target (5x the 18.7/s first measured); the time spent
per stage; when the last link check finished; and database transactions per run
(pg_stat_database, both workers). BENCH_N validates only the first N entries. Not collected by
pytest.
"""

from __future__ import annotations

import os
import resource
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
LINK_CONCURRENCY = os.environ.get("BENCH_LINK_CONCURRENCY", "8")
PREFETCH = os.environ.get("BENCH_PREFETCH_MULTIPLIER", "4")  # as the Procfile's worker
# Issue 8: a worker with 2 processes validated the corpus at 18.7 plugins/s; the aim is 5x.
FIRST_MEASURED = 18.7
TARGET = FIRST_MEASURED * 5


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
    from django.db.models import Q

    from accounts.models import Organization
    from marketplace.celery import app
    from plugins.models import LinkCheck, ValidationRun
    from plugins.registration import SubmissionRejected, register_plugin_by_upload
    from plugins.validation import validate_plugin
    from plugins.validation.corpus import iter_entries

    entries = list(iter_entries(Path(settings.MARKETPLACE_CORPUS_DIR)))
    if os.environ.get("BENCH_N"):
        entries = entries[: int(os.environ["BENCH_N"])]
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

    celery = str(Path(sys.executable).parent / "celery")
    transactions_before = _transactions()
    workers = [
        subprocess.Popen(
            [
                *(celery, "-A", "marketplace", "worker", "--queues", "celery"),
                *("--hostname", "validate@%h", "--concurrency", CONCURRENCY),
                *("--prefetch-multiplier", PREFETCH),
                *("--loglevel", "WARNING", "--without-heartbeat"),
            ],
            cwd=ROOT,
            env=env(),
        ),
        subprocess.Popen(
            [
                *(celery, "-A", "marketplace", "worker", "--queues", "links"),
                *("--hostname", "links@%h", "--pool", "threads"),
                *("--concurrency", LINK_CONCURRENCY, "--loglevel", "ERROR", "--without-heartbeat"),
            ],
            cwd=ROOT,
            env=env(),
        ),
    ]
    try:
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            open_runs = ValidationRun.objects.filter(
                Q(finished_at__isnull=True) | Q(links=LinkCheck.PENDING)
            ).count()
            connection.close()
            if open_runs == 0:
                break
            time.sleep(0.5)
    finally:
        for worker in workers:
            worker.terminate()
        cpu = []  # CPU seconds of each worker and its processes (reaped ones roll up here)
        for worker in workers:
            before = _children_cpu()
            worker.wait(timeout=60)
            cpu.append(_children_cpu() - before)
    transactions = _transactions() - transactions_before
    runs = list(ValidationRun.objects.all())
    first = min(r.started_at for r in runs if r.started_at)
    last = max(r.finished_at for r in runs if r.finished_at)
    seconds = (last - first).total_seconds()
    links_done = [r.links_finished_at for r in runs if r.links_finished_at]
    by_status: dict[str, int] = {}
    stage_seconds: dict[str, float] = {}
    for run in runs:
        by_status[run.status] = by_status.get(run.status, 0) + 1
        for stage, spent in run.stage_timings.items():
            stage_seconds[stage] = stage_seconds.get(stage, 0.0) + spent
    worker_rate = queued / max(seconds, 1e-9)
    print(f"\n### Validation throughput over the corpus ({len(entries)} entries)\n")
    print("| measure | plugins/s | x validator alone | x target |")
    print("|---|---:|---:|---:|")
    print(f"| validate_plugin alone, one process (baseline) | {alone:.1f} | 1.00 | |")
    print(
        f"| target: {FIRST_MEASURED} x 5 (issue 8) | {TARGET:.1f} | {TARGET / alone:.2f} | 1.00 |"
    )
    print(
        f"| one worker, {CONCURRENCY} processes: {queued} runs in {seconds:.1f} s | "
        f"{worker_rate:.1f} | {worker_rate / alone:.2f} | {worker_rate / TARGET:.2f} |"
    )
    if links_done:
        link_seconds = (max(links_done) - first).total_seconds()
        print(
            f"| link checks ({LINK_CONCURRENCY} threads, after each verdict): {len(links_done)} "
            f"done {link_seconds:.1f} s after the first start | "
            f"{len(links_done) / max(link_seconds, 1e-9):.1f} | | |"
        )
    print(
        f"\nCPU per run: validation worker {1000 * cpu[0] / max(queued, 1):.1f} ms, "
        f"link worker {1000 * cpu[1] / max(queued, 1):.1f} ms (2 shared cores)."
    )
    print("\n| stage | seconds, all runs | ms per run |")
    print("|---|---:|---:|")
    for stage, spent in sorted(stage_seconds.items(), key=lambda item: -item[1]):
        print(f"| {stage} | {spent:.1f} | {1000 * spent / max(queued, 1):.1f} |")
    print(
        f"\nruns by status: {by_status}; {rejected} uploads refused at registration; "
        f"{transactions / max(queued, 1):.1f} database transactions per run (both workers)."
    )
    return 0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _transactions() -> int:
    """Committed transactions in the bench's database so far (pg_stat_database)."""
    name = urlsplit(DATABASE_URL).path.lstrip("/")
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", [name]
        ).fetchone()
    return int(row[0])


if __name__ == "__main__":
    sys.exit(main())
