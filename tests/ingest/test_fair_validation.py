"""A hostile publisher can't starve validation: per-run budgets, no retry of a repeated
timeout, and at most one run per organization in the workers (settings' default).

Real Celery workers consuming from Redis, real loopback servers that trickle their documents one
byte a second or refuse connections. The margins are generous (a loaded 2-core machine); the
figures themselves are measured by `make bench` (tests/benchmarks/bench_fair_validation.py).
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.utils import timezone

from plugins.ingest import budget, fetch
from plugins.ingest.run import RunLater, execute_run
from plugins.models import RunStatus, ValidationRun
from tests.support.plugins import (
    finding_codes,
    finished,
    serve_todo_plugin,
    submit,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)

# How long past the run's own deadline a verdict may take on a busy machine before we call it
# a failure (worker start-up, broker round trips, the machine being shared).
MARGIN = 30


def test_another_organizations_plugin_validates_while_five_hostile_submissions_are_pending(
    two_slot_worker, trickling, plugin_server, acme, alice, globex, charlie
):
    hostile = []
    for n in range(5):
        trickling.trickle(f"/h{n}/openapi.json")
        hostile.append(submit(globex, charlie, trickling.url(f"/h{n}/openapi.json")))
    wait_for(
        lambda: ValidationRun.objects.filter(organization=globex, status="running").exists(),
        MARGIN,
        "a hostile run started",
    )
    serve_todo_plugin(plugin_server)
    submitted = time.monotonic()

    good = submit(acme, alice, plugin_server.url("/"))
    most_running = 0
    while not finished(good):
        running = ValidationRun.objects.filter(organization=globex, status="running").count()
        most_running = max(most_running, running)
        assert time.monotonic() - submitted < MARGIN, "the good plugin waited behind the hostile"
        time.sleep(0.1)
    verdict_after = time.monotonic() - submitted

    assert good.status == RunStatus.PASSED
    assert most_running <= settings.VALIDATION_MAX_RUNS_PER_ORGANIZATION
    pending = ValidationRun.objects.filter(pk__in=[r.pk for r in hostile]).exclude(
        status__in=["passed", "failed", "error"]
    )
    assert pending.count() >= 4  # still pending: one at a time, 15 s each at least
    waiting = pending.filter(status="queued")
    assert waiting.exists()
    assert all("Waiting for your organization" in r.summary for r in waiting if r.summary)
    print(f"\ngood plugin behind five hostile submissions: verdict in {verdict_after:.1f}s")


def test_a_trickling_host_gets_a_verdict_within_the_run_budget(
    two_slot_worker, trickling, acme, alice
):
    trickling.trickle("/openapi.json")
    run = submit(acme, alice, trickling.url("/openapi.json"))

    run = wait_for(lambda: finished(run), settings.VALIDATION_RUN_DEADLINE + MARGIN, "a verdict")

    assert run.status == RunStatus.FAILED
    assert "fetch.openapi.timeout" in finding_codes(run)
    # It timed out, was retried once, timed out again on the same host: no third attempt.
    assert run.attempts == 2
    assert run.timed_out_hosts == ["127.0.0.1"]
    assert run.network_seconds <= settings.VALIDATION_RUN_NETWORK_BUDGET + 2
    took = (run.finished_at - run.started_at).total_seconds()
    assert took <= settings.VALIDATION_RUN_DEADLINE + MARGIN
    print(f"\ntrickling host: verdict in {took:.1f}s, {run.network_seconds:.1f}s of worker time")


def test_a_dead_host_is_retried_within_the_budget_then_fails(
    two_slot_worker, refusing_port, acme, alice, monkeypatch
):
    monkeypatch.setattr(budget, "RETRY_DELAYS", (0.5, 0.5, 0.5))  # the back-off, shortened
    run = submit(acme, alice, f"http://127.0.0.1:{refusing_port}/openapi.json")

    run = wait_for(lambda: finished(run), settings.VALIDATION_RUN_DEADLINE + MARGIN, "a verdict")

    assert run.status == RunStatus.FAILED
    assert "fetch.openapi.connect_failed" in finding_codes(run)
    assert run.attempts == 1 + len(budget.RETRY_DELAYS)
    assert run.network_seconds < 5


def test_a_run_stops_retrying_when_its_budget_is_spent(trickling, acme, alice, settings):
    settings.VALIDATION_RUN_NETWORK_BUDGET = 3
    trickling.trickle("/openapi.json")
    run = submit(acme, alice, trickling.url("/openapi.json"))

    execute_run(run.pk, final_attempt=False)  # no RunLater: nothing left to retry with

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.attempts == 1
    assert 2.5 <= run.network_seconds <= 3 + 2


def test_a_first_timeout_is_retried_but_a_repeated_one_is_not(trickling, acme, alice, monkeypatch):
    monkeypatch.setattr(fetch, "DOCUMENT_TIMEOUT", 2.0)  # cut each fetch at 2 s, not 15
    trickling.trickle("/openapi.json")
    run = submit(acme, alice, trickling.url("/openapi.json"))
    ValidationRun.objects.filter(pk=run.pk).update(timed_out_hosts=["elsewhere.example"])

    with pytest.raises(RunLater):
        execute_run(run.pk, final_attempt=False)
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    assert run.timed_out_hosts == ["127.0.0.1", "elsewhere.example"]

    execute_run(run.pk, final_attempt=False)  # the same host times out again: the verdict

    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.FAILED, 2)
    assert "fetch.openapi.timeout" in finding_codes(run)


def test_the_organization_cap_keeps_extra_runs_queued_and_says_why(acme, alice, settings):
    settings.VALIDATION_MAX_RUNS_PER_ORGANIZATION = 1
    first = submit(acme, alice, "http://127.0.0.1:8150/a.json")
    second = submit(acme, alice, "http://127.0.0.1:8150/b.json")
    ValidationRun.objects.filter(pk=first.pk).update(
        status=RunStatus.RUNNING, heartbeat_at=timezone.now(), started_at=timezone.now()
    )

    with pytest.raises(RunLater) as later:
        execute_run(second.pk, final_attempt=False)

    second.refresh_from_db()
    assert second.status == RunStatus.QUEUED
    assert second.attempts == 0
    assert "Waiting for your organization" in second.summary
    assert 0 < later.value.seconds <= 30


def test_the_budget_counts_a_runs_earlier_attempts(acme, alice, settings):
    settings.VALIDATION_RUN_NETWORK_BUDGET = 30
    settings.VALIDATION_RUN_DEADLINE = 60
    run = submit(acme, alice, "http://127.0.0.1:8150/a.json")
    ValidationRun.objects.filter(pk=run.pk).update(
        network_seconds=29.5, started_at=timezone.now(), timed_out_hosts=["a.example"]
    )
    run.refresh_from_db()

    spent = budget.RunBudget.for_run(run)

    assert spent.seconds_left() == pytest.approx(0.5, abs=0.1)
    assert not spent.allows_retry(host="b.example", timed_out=False, delay=1)
    fresh = budget.RunBudget(network_left=30, deadline=time.monotonic() + 60)
    assert fresh.allows_retry(host="b.example", timed_out=True, delay=3)
    assert not budget.RunBudget(
        network_left=30, deadline=time.monotonic() + 60, timed_out_before=frozenset({"b.example"})
    ).allows_retry(host="b.example", timed_out=True, delay=3)
    late = budget.RunBudget(network_left=30, deadline=time.monotonic() + 4)
    assert not late.allows_retry(host="b.example", timed_out=False, delay=3)
