"""Validation runs in a real Celery worker consuming from Redis, not in eager mode."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from marketplace.celery import app as celery_app
from plugins.models import LinkCheck, RunStatus, RunTrigger, ValidationRun
from plugins.registration import register_plugin_by_upload
from plugins.tasks import reap_stale_validation_runs
from tests.support.plugins import DEMO_DIR, upload_demo_todo

DEMO = DEMO_DIR


@pytest.fixture
def redis_worker():
    assert celery_app.conf.broker_url.startswith("redis://")
    celery_app.control.purge()
    with start_worker(
        celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30
    ) as worker:
        yield worker


def wait_until_finished(run: ValidationRun, seconds: float = 120) -> ValidationRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_finished:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run.pk} still {run.status}/{run.stage} after {seconds}s")


@pytest.mark.django_db(transaction=True)
def test_it_validates_an_upload_in_a_real_worker(redis_worker, acme, alice):
    submission = upload_demo_todo(acme, alice, visibility="private")

    run = wait_until_finished(submission.run)

    assert run.status == RunStatus.PASSED
    assert run.attempts == 1
    assert {"checking"} <= set(run.stage_timings)
    submission.version.refresh_from_db()
    assert submission.version.validated_at is not None
    names = [op["name"] for op in submission.version.normalized["operations"]]
    assert sorted(names) == ["addTodo", "getTodos"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_started_without_queues_also_checks_the_links(redis_worker, acme, alice):
    """`make worker` and the tests start one worker without -Q: it serves the `links` queue too
    (the Procfile and docker-compose.yml give the link checks a thread-pool worker of their own)."""
    submission = upload_demo_todo(acme, alice, visibility="private")
    run = wait_until_finished(submission.run)

    deadline = time.monotonic() + 60
    while run.links == LinkCheck.PENDING and time.monotonic() < deadline:
        time.sleep(0.1)
        run.refresh_from_db()

    assert run.links == LinkCheck.CHECKED
    assert "checking_links" in run.stage_timings
    assert run.links_finished_at >= run.finished_at


@pytest.mark.django_db
def test_it_marks_a_run_abandoned_by_a_dead_worker_as_error_and_requeues(
    acme, alice, django_capture_on_commit_callbacks
):
    submission = upload_demo_todo(acme, alice, visibility="private")
    long_ago = timezone.now() - timedelta(hours=1)
    ValidationRun.objects.filter(pk=submission.run.pk).update(
        status=RunStatus.RUNNING, stage="checking", heartbeat_at=long_ago, started_at=long_ago
    )

    with django_capture_on_commit_callbacks() as callbacks:
        reaped = reap_stale_validation_runs()

    assert reaped == 1
    submission.run.refresh_from_db()
    assert submission.run.status == RunStatus.ERROR
    assert "re-queued" in submission.run.summary
    retry = ValidationRun.objects.exclude(pk=submission.run.pk).get(version=submission.version)
    assert retry.status == RunStatus.QUEUED
    assert retry.trigger == RunTrigger.RETRY
    assert len(callbacks) == 1  # the retry was handed to the broker on commit


@pytest.mark.django_db
def test_it_leaves_live_runs_alone(acme, alice):
    submission = register_plugin_by_upload(
        organization=acme,
        manifest=None,
        openapi=(DEMO / "data-query-openapi.json").read_bytes(),
        origin="data.acme.demo.example",
        visibility="private",
        submitted_by=alice,
    )
    ValidationRun.objects.filter(pk=submission.run.pk).update(
        status=RunStatus.RUNNING, heartbeat_at=timezone.now()
    )

    assert reap_stale_validation_runs() == 0
    submission.run.refresh_from_db()
    assert submission.run.status == RunStatus.RUNNING


@pytest.mark.django_db
def test_it_resends_a_run_whose_message_was_lost_once_per_stale_period(
    acme, alice, django_capture_on_commit_callbacks
):
    submission = upload_demo_todo(acme, alice)
    long_ago = timezone.now() - timedelta(hours=1)
    ValidationRun.objects.filter(pk=submission.run.pk).update(created_at=long_ago)

    with django_capture_on_commit_callbacks() as first:
        assert reap_stale_validation_runs() == 1
    with django_capture_on_commit_callbacks() as second:
        assert reap_stale_validation_runs() == 0

    submission.run.refresh_from_db()
    assert submission.run.status == RunStatus.QUEUED  # the same run, sent again
    assert ValidationRun.objects.count() == 1
    assert (len(first), len(second)) == (1, 0)
