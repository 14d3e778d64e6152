"""Validation throughput of one Celery worker: `python -m tests.benchmarks.bench_ingest`.

Measures two trees the same way, in the same run, on this machine: the code at issue 8's filing
(BENCH_BASELINE_REV, default 0b27824, the last commit before any issue-8 work, checked out with
`git worktree add --detach` into a temporary directory and removed afterwards) and this tree.
For each: a fresh database of its own (BENCH_INGEST_DATABASE_URL for this tree, the same name
with `_base` for the baseline; dropped, recreated and migrated by that tree's own migrations),
every corpus entry registered by upload (one organization each, so nothing merges) by that
tree's own `register_plugin_by_upload`, then that tree's Procfile workers started with the
current virtualenv, cwd and PYTHONPATH at the tree: `worker` (prefork, BENCH_WORKER_CONCURRENCY
processes, default the Procfile's 2) and, where the Procfile has one, `links` (threads). Both
drop `--beat` (the schedule's tasks would run in the middle of the measurement) and log at
WARNING. The figure is plugins validated per second from the first run's start to the last
verdict (started_at, finished_at: both trees have them); the baseline's link checks run inside
its validation task, as they did then.

It reports plugins/s of both and their ratio, issue 8's absolute target (5x the 18.7/s the
filing session measured on another machine), validate_plugin alone in this process (a floor-free
reference), runs by status and findings by severity for both (the same work is being done),
CPU per run of each worker, per-stage ms per run, and database transactions per run.
BENCH_ROUNDS alternates baseline and current that many times (default 1) and reports medians;
BENCH_BASELINE_REV="" skips the baseline; BENCH_N validates only the first N entries.
`python bench_ingest.py register` is the registration step, run inside the measured tree.
Not collected by pytest.
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get(
    "BENCH_INGEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mkp_bench_ingest"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
BASELINE_REV = os.environ.get("BENCH_BASELINE_REV", "0b27824")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))
CONCURRENCY = os.environ.get("BENCH_WORKER_CONCURRENCY", "")  # empty: the Procfile's
# Issue 8: a worker with 2 processes validated the corpus at 18.7 plugins/s (the filing
# session's machine and harness); the aim is 5x.
FIRST_MEASURED = 18.7
TARGET = FIRST_MEASURED * 5
# Another BENCH_BASELINE_REV (e.g. main, to measure a branch's own change) is just "baseline".
BASE_LABEL = "issue-filing code" if BASELINE_REV == "0b27824" else "baseline"


@dataclass
class Measurement:
    label: str
    queued: int = 0
    rejected: int = 0
    seconds: float = 0.0
    links_seconds: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)  # Procfile name -> CPU seconds
    stages: dict[str, float] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)
    transactions: int = 0

    @property
    def rate(self) -> float:
        return self.queued / max(self.seconds, 1e-9)


def env(tree: Path, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "PYTHONPATH": str(tree),
    }


def fresh_database(tree: Path, database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    admin = urlsplit(database_url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=tree,
        env=env(tree, database_url),
        check=True,
    )


def worker_commands(tree: Path) -> dict[str, list[str]]:
    """The tree's Procfile `worker` and `links` lines, as the bench runs them."""
    celery = str(Path(sys.executable).parent / "celery")
    commands = {}
    for line in (tree / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() not in ("worker", "links"):
            continue
        args = shlex.split(command)
        args[0] = celery
        args = [a for a in args if a != "--beat"]
        if "--loglevel" in args:
            args[args.index("--loglevel") + 1] = "WARNING"
        if CONCURRENCY and name.strip() == "worker":
            args[args.index("--concurrency") + 1] = CONCURRENCY
        commands[name.strip()] = [*args, "--without-heartbeat"]
    return commands


def measure(tree: Path, database_url: str, label: str) -> Measurement:
    result = Measurement(label)
    fresh_database(tree, database_url)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    registered = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "register", str(tree)],
        cwd=tree,
        env=env(tree, database_url),
        check=True,
        capture_output=True,
        text=True,
    )
    counts = json.loads(registered.stdout.strip().splitlines()[-1])
    result.queued, result.rejected = counts["queued"], counts["rejected"]

    columns = _columns(database_url, "plugins_validationrun")
    has_links = "links" in columns
    open_sql = "SELECT count(*) FROM plugins_validationrun WHERE finished_at IS NULL" + (
        " OR links = 'pending'" if has_links else ""
    )
    transactions_before = _transactions(database_url)
    commands = worker_commands(tree)
    # The workers' logs, shown if a run did not finish; closed below, after the workers.
    log = tempfile.TemporaryFile()  # noqa: SIM115
    workers = {
        name: subprocess.Popen(
            args, cwd=tree, env=env(tree, database_url), stdout=log, stderr=subprocess.STDOUT
        )
        for name, args in commands.items()
    }
    try:
        deadline = time.monotonic() + 1800
        with psycopg.connect(database_url, autocommit=True) as conn:
            while time.monotonic() < deadline:
                if conn.execute(open_sql).fetchone()[0] == 0:
                    break
                time.sleep(0.5)
    finally:
        for worker in workers.values():
            worker.terminate()
        for name, worker in workers.items():  # CPU of each worker and its (reaped) children
            before = _children_cpu()
            worker.wait(timeout=60)
            result.cpu[name] = _children_cpu() - before
    result.transactions = _transactions(database_url) - transactions_before
    log.seek(0)
    lines = log.read().decode(errors="replace").splitlines()
    log.close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        if conn.execute(open_sql).fetchone()[0]:
            print("\n".join(lines[-40:]), file=sys.stderr)
            raise SystemExit(f"{label}: runs still open after the deadline")

    with psycopg.connect(database_url, autocommit=True) as conn:
        first, last = conn.execute(
            "SELECT min(started_at), max(finished_at) FROM plugins_validationrun"
        ).fetchone()
        result.seconds = (last - first).total_seconds()
        if has_links:
            links_last = conn.execute(
                "SELECT max(links_finished_at) FROM plugins_validationrun"
            ).fetchone()[0]
            if links_last:
                result.links_seconds = (links_last - first).total_seconds()
        for status, count in conn.execute(
            "SELECT status, count(*) FROM plugins_validationrun GROUP BY status ORDER BY status"
        ):
            result.by_status[status] = count
        for (timings,) in conn.execute("SELECT stage_timings FROM plugins_validationrun"):
            for stage, spent in (timings or {}).items():
                result.stages[stage] = result.stages.get(stage, 0.0) + spent
        table = next(
            t
            for t in ("plugins_runfinding", "plugins_finding")
            if _columns(database_url, t)  # the findings' table was renamed since
        )
        for severity, count in conn.execute(
            f"SELECT severity, count(*) FROM {table} GROUP BY severity ORDER BY severity"
        ):
            result.findings[severity] = count
    return result


def register(tree: Path) -> int:
    """Inside the measured tree: register every corpus entry by upload, print the counts."""
    import django

    django.setup()
    from django.conf import settings

    import plugins
    from accounts.models import Organization
    from marketplace.celery import app
    from plugins.models import ValidationRun
    from plugins.registration import SubmissionRejected, register_plugin_by_upload
    from plugins.validation.corpus import iter_entries

    assert Path(plugins.__file__).resolve().is_relative_to(tree.resolve()), plugins.__file__
    entries = list(iter_entries(Path(settings.MARKETPLACE_CORPUS_DIR)))
    if os.environ.get("BENCH_N"):
        entries = entries[: int(os.environ["BENCH_N"])]
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
    print(json.dumps({"queued": ValidationRun.objects.count(), "rejected": rejected}))
    return 0


@contextmanager
def baseline_tree():
    """The baseline revision checked out in a temporary worktree, or None (said why)."""
    if not BASELINE_REV:
        print("Baseline skipped: BENCH_BASELINE_REV is empty.")
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="bench-ingest-base-"))
    added = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(directory), BASELINE_REV],
        capture_output=True,
        text=True,
    )
    if added.returncode != 0:
        print(
            f"Baseline skipped: no git history to check out {BASELINE_REV} "
            f"({added.stderr.strip().splitlines()[-1] if added.stderr.strip() else 'git failed'})."
        )
        directory.rmdir()
        yield None
        return
    try:
        yield directory
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(directory)],
            check=False,
        )


def main() -> int:
    os.environ.update(env(ROOT, DATABASE_URL))
    import django

    django.setup()
    from django.conf import settings

    from plugins.validation import validate_plugin
    from plugins.validation.corpus import iter_entries

    # Both trees read the corpus this tree is configured with.
    os.environ["MARKETPLACE_CORPUS_DIR"] = str(settings.MARKETPLACE_CORPUS_DIR)
    entries = list(iter_entries(Path(settings.MARKETPLACE_CORPUS_DIR)))
    if os.environ.get("BENCH_N"):
        entries = entries[: int(os.environ["BENCH_N"])]
    started = time.perf_counter()
    for entry in entries:
        validate_plugin(entry.source)
    alone = len(entries) / (time.perf_counter() - started)

    base_url = urlsplit(DATABASE_URL)
    base_url = base_url._replace(path=base_url.path + "_base").geturl()
    old: list[Measurement] = []
    new: list[Measurement] = []
    with baseline_tree() as tree:
        revision = ""
        if tree is not None:
            revision = subprocess.run(
                ["git", "-C", str(tree), "log", "-1", "--format=%h %cs"],
                capture_output=True,
                text=True,
            ).stdout.strip()
        for _ in range(ROUNDS):
            if tree is not None:
                old.append(measure(tree, base_url, f"{BASE_LABEL} ({revision})"))
            new.append(measure(ROOT, DATABASE_URL, "this tree"))

    report(entries, alone, old, new)
    return 0


def _median_spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.median(values):.1f} ({min(values):.1f} to {max(values):.1f})"


def report(entries, alone: float, old: list[Measurement], new: list[Measurement]) -> None:
    print(f"\n### Validation throughput over the corpus ({len(entries)} entries)\n")
    print(f"{ROUNDS} round(s), baseline and this tree alternating; medians (min to max).\n")
    print(f"| code | runs | plugins/s | x {BASE_LABEL} (same run, same machine) | x target |")
    print("|---|---:|---:|---:|---:|")
    old_median = statistics.median(m.rate for m in old) if old else None
    for runs in (old, new):
        if not runs:
            continue
        rates = [m.rate for m in runs]
        ratio = ""
        if old and runs is old:
            ratio = "1.00"
        elif old:
            ratios = [n.rate / o.rate for o, n in zip(old, new, strict=True)]
            ratio = f"{statistics.median(ratios):.2f}"
            if len(ratios) > 1:
                ratio += f" ({min(ratios):.2f} to {max(ratios):.2f})"
        print(
            f"| {runs[0].label} | {runs[0].queued} | {_median_spread(rates)} | {ratio} | "
            f"{statistics.median(rates) / TARGET:.2f} |"
        )
    print(
        f"| issue 8's target: {FIRST_MEASURED} x 5 (absolute, measured on another machine) | | "
        f"{TARGET:.1f} | {TARGET / old_median:.2f} | 1.00 |"
        if old_median
        else f"| issue 8's target: {FIRST_MEASURED} x 5 | | {TARGET:.1f} | | 1.00 |"
    )
    print(f"| validate_plugin alone, one process, this tree (reference) | | {alone:.1f} | | |")
    print("\nWorkers as each tree's Procfile has them, without --beat and logging at WARNING.")
    if old and BASE_LABEL == "issue-filing code":
        print("The issue-filing code checks links inside its validation task.")
    for runs in (old, new):
        if not runs:
            continue
        m = runs[-1]
        cpu = ", ".join(
            f"{name} {_median_spread([1000 * r.cpu[name] / max(r.queued, 1) for r in runs])} ms"
            for name in m.cpu
        )
        transactions = _median_spread([r.transactions / max(r.queued, 1) for r in runs])
        print(f"\n**{m.label}**: CPU per run: {cpu} (2 shared cores);")
        print(
            f"{transactions} DB transactions per run; runs by status {m.by_status}; "
            f"findings by severity {m.findings}; "
            f"{m.rejected} uploads refused at registration."
        )
        if m.links_seconds is not None:
            print(f"Last link check done {m.links_seconds:.1f} s after the first start.")
    stages = sorted({s for runs in (old, new) for m in runs for s in m.stages})
    print(f"\n| stage | ms per run, {BASE_LABEL} | ms per run, this tree |")
    print("|---|---:|---:|")
    for stage in stages:
        cells = []
        for runs in (old, new):
            values = [1000 * m.stages.get(stage, 0.0) / max(m.queued, 1) for m in runs]
            cells.append(f"{statistics.median(values):.1f}" if values else "")
        print(f"| {stage} | {cells[0]} | {cells[1]} |")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _columns(database_url: str, table: str) -> set[str]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                [table],
            )
        }


def _transactions(database_url: str) -> int:
    """Committed transactions in the bench's database so far (pg_stat_database)."""
    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", [name]
        ).fetchone()
    return int(row[0])


if __name__ == "__main__":
    if sys.argv[1:2] == ["register"]:
        sys.exit(register(Path(sys.argv[2])))
    sys.exit(main())
