"""Fair validation, measured (`make bench`): time to a verdict for a dead host, for a trickling
host, and for a good plugin submitted behind one publisher's five hostile submissions.

Run with pytest (it needs the test database, Redis and a real two-slot worker):
`python -m pytest -q -s tests/benchmarks/bench_fair_validation.py`. Each figure is printed in
seconds and as a ratio: the hostile cases against the run deadline (settings.
VALIDATION_RUN_DEADLINE), the good plugin against the same plugin validated with no hostile
load, measured in the same run. Not collected by the normal suite (not named test_*.py).
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from plugins.models import ValidationRun
from tests.support.plugins import finished, serve_todo_plugin, submit, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
LIMIT = 180


def verdict_seconds(run: ValidationRun) -> float:
    started = time.monotonic()
    wait_for(lambda: finished(run), LIMIT, "a verdict")
    return time.monotonic() - started


def report(label: str, seconds: float, baseline: float, baseline_label: str) -> None:
    print(f"\n| {label} | {seconds:.1f} s | {seconds / baseline:.2f} x {baseline_label} |")


def test_bench_dead_host(two_slot_worker, refusing_port, acme, alice):
    run = submit(acme, alice, f"http://127.0.0.1:{refusing_port}/openapi.json")
    seconds = verdict_seconds(run)
    run.refresh_from_db()
    report("dead host (connection refused)", seconds, settings.VALIDATION_RUN_DEADLINE, "deadline")
    print(f"  attempts {run.attempts}, network {run.network_seconds:.1f} s")


def test_bench_trickling_host(two_slot_worker, trickling, acme, alice):
    trickling.trickle("/openapi.json")
    run = submit(acme, alice, trickling.url("/openapi.json"))
    seconds = verdict_seconds(run)
    run.refresh_from_db()
    report("trickling host (1 byte/s)", seconds, settings.VALIDATION_RUN_DEADLINE, "deadline")
    print(f"  attempts {run.attempts}, network {run.network_seconds:.1f} s")


def test_bench_good_plugin_behind_five_hostile(
    two_slot_worker, trickling, plugin_server, acme, alice, globex, charlie
):
    serve_todo_plugin(plugin_server)
    alone = verdict_seconds(submit(acme, alice, plugin_server.url("/")))
    for n in range(5):
        trickling.trickle(f"/h{n}/openapi.json")
        submit(globex, charlie, trickling.url(f"/h{n}/openapi.json"))
    wait_for(
        lambda: ValidationRun.objects.filter(organization=globex, status="running").exists(),
        60,
        "a hostile run started",
    )
    behind = verdict_seconds(submit(acme, alice, plugin_server.url("/")))
    report("good plugin behind five hostile", behind, alone, "the same plugin alone")
    print(f"  alone: {alone:.1f} s")
