"""A run's links (logo, legal page) are checked by their own task after the verdict: a dead host
never holds a validation slot, and the findings and logo end up as the inline stage left them."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from plugins.ingest.link_stage import check_run_links
from plugins.ingest.links import check_links
from plugins.ingest.queue import LINKS_QUEUE, LINKS_TASK
from plugins.ingest.run import execute_run
from plugins.models import LinkCheck, PluginVersion, RunStatus, ValidationRun
from plugins.registration import register_plugin_by_url
from plugins.tasks import reap_stale_validation_runs
from tests.support.plugin_server import Response
from tests.support.plugins import register_and_validate, serve_todo_plugin

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def register(acme, alice, server):
    return register_plugin_by_url(
        organization=acme, url=server.url("/"), visibility="private", submitted_by=alice
    ).run


def codes(run) -> list[str]:
    return list(run.findings.values_list("code", flat=True))


def test_the_verdict_does_not_wait_for_a_link_host_that_never_answers(plugin_server, acme, alice):
    serve_todo_plugin(plugin_server)
    plugin_server.handle("/logo.png", lambda handler: handler.wait(30))
    run = register(acme, alice, plugin_server)

    started = time.monotonic()
    execute_run(run.pk)
    verdict_seconds = time.monotonic() - started

    run.refresh_from_db()
    assert run.status == RunStatus.PASSED
    assert run.links == LinkCheck.PENDING
    assert verdict_seconds < 3  # the inline stage waited up to its 6 s budget
    assert "/logo.png" not in plugin_server.requests
    assert "checking_links" not in run.stage_timings


def test_link_warnings_join_the_runs_findings_after_its_own_and_the_logo_lands(
    plugin_server, acme, alice
):
    serve_todo_plugin(plugin_server)
    plugin_server.route("/legal", Response(b"gone", status=410, content_type="text/plain"))
    run = register(acme, alice, plugin_server)
    execute_run(run.pk)
    run.refresh_from_db()
    verdict_codes = codes(run)
    assert "links.legal_info_url.http_status" not in verdict_codes
    assert PluginVersion.objects.get(pk=run.version_id).logo is None

    check_run_links(run.pk)

    run.refresh_from_db()
    assert codes(run) == [*verdict_codes, "links.legal_info_url.http_status"]
    assert list(run.findings.values_list("position", flat=True)) == list(range(len(codes(run))))
    warnings = run.findings.filter(severity="warning").count()
    assert f"{warnings} warnings" in run.summary
    assert run.status == RunStatus.PASSED  # link problems are warnings: the verdict stands
    assert run.links == LinkCheck.CHECKED
    assert run.links_finished_at >= run.finished_at
    assert run.stage_timings["checking_links"] >= 0
    version = PluginVersion.objects.get(pk=run.version_id)
    assert bytes(version.logo) == PNG
    assert version.logo_content_type == "image/png"


def test_the_findings_are_those_the_inline_link_stage_gave(plugin_server, acme, alice):
    serve_todo_plugin(plugin_server)
    plugin_server.route("/logo.png", Response(b"GIF89a" + b"\0" * 32, content_type="image/gif"))
    plugin_server.route("/legal", Response(b"no", status=404, content_type="text/plain"))
    run = register(acme, alice, plugin_server)
    execute_run(run.pk)
    verdict = list(run.findings.values_list("severity", "code", "document", "pointer", "message"))

    check_run_links(run.pk)

    # The inline stage checked the links of the validator's model of the plugin and appended
    # its warnings to the validator's findings.
    inline = check_links(PluginVersion.objects.get(pk=run.version_id).normalized).findings
    stored = list(run.findings.values_list("severity", "code", "document", "pointer", "message"))
    assert stored == verdict + [
        (str(f.severity), f.code, f.document, f.pointer, f.message) for f in inline
    ]
    assert [f.code for f in inline] == ["links.logo.gif", "links.legal_info_url.http_status"]
    run.refresh_from_db()
    warnings = sum(1 for severity, *_ in stored if severity == "warning")
    assert f"{warnings} warnings" in run.summary


def test_a_redelivered_link_check_changes_nothing(plugin_server, acme, alice):
    serve_todo_plugin(plugin_server)
    plugin_server.route("/legal", Response(b"gone", status=410, content_type="text/plain"))
    run = register_and_validate(acme, alice, plugin_server.url("/"))
    findings_before = codes(run)
    requests_before = len(plugin_server.requests)

    assert check_run_links(run.pk) is None

    run.refresh_from_db()
    assert codes(run) == findings_before
    assert len(plugin_server.requests) == requests_before  # nothing fetched again


def test_only_the_run_that_validated_a_version_keeps_its_logo(plugin_server, acme, alice):
    serve_todo_plugin(plugin_server)
    plugin_server.route("/logo.png", Response(b"gone", status=404, content_type="text/plain"))
    first = register_and_validate(acme, alice, plugin_server.url("/"))
    plugin_server.route("/logo.png", Response(PNG, content_type="image/png"))

    second = register_and_validate(acme, alice, plugin_server.url("/"))

    assert second.version_id == first.version_id  # identical content: the same, frozen version
    assert (first.links_keep_logo, second.links_keep_logo) == (True, False)
    assert PluginVersion.objects.get(pk=first.version_id).logo is None


def test_a_run_whose_documents_give_no_plugin_has_no_link_check(plugin_server, acme, alice):
    plugin_server.route(
        "/.well-known/ai-plugin.json", Response(b"not json", content_type="text/plain")
    )
    run = register(acme, alice, plugin_server)

    execute_run(run.pk)

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.links == LinkCheck.NONE


def test_the_verdict_sends_the_link_check_to_its_own_queue_once_committed(
    plugin_server, acme, alice, django_capture_on_commit_callbacks
):
    from marketplace.celery import app as celery_app

    serve_todo_plugin(plugin_server)
    run = register(acme, alice, plugin_server)
    sent = []
    original = celery_app.send_task
    celery_app.send_task = lambda name, **kwargs: sent.append((name, kwargs))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            execute_run(run.pk)
    finally:
        celery_app.send_task = original

    assert sent == [(LINKS_TASK, {"args": [run.pk], "queue": LINKS_QUEUE})]


@pytest.mark.django_db
def test_the_reaper_resends_a_link_check_whose_message_was_lost(
    plugin_server, acme, alice, django_capture_on_commit_callbacks
):
    serve_todo_plugin(plugin_server)
    run = register(acme, alice, plugin_server)
    execute_run(run.pk)
    long_ago = timezone.now() - timedelta(hours=1)
    ValidationRun.objects.filter(pk=run.pk).update(heartbeat_at=long_ago)

    with django_capture_on_commit_callbacks() as first:
        assert reap_stale_validation_runs() == 1
    with django_capture_on_commit_callbacks() as second:
        assert reap_stale_validation_runs() == 0  # sent again once per stale period

    assert (len(first), len(second)) == (1, 0)
    run.refresh_from_db()
    assert run.links == LinkCheck.PENDING
    assert run.status == RunStatus.PASSED  # a finished run is never re-run for its links


def test_the_api_says_the_links_are_pending_then_checked(plugin_server, acme, alice, alice_api):
    serve_todo_plugin(plugin_server)
    run = register(acme, alice, plugin_server)
    execute_run(run.pk)

    pending = alice_api.get(f"/api/v1/validation-runs/{run.pk}/").json()
    check_run_links(run.pk)
    checked = alice_api.get(f"/api/v1/validation-runs/{run.pk}/").json()

    assert (pending["status"], pending["links"], pending["links_finished_at"]) == (
        "passed",
        "pending",
        None,
    )
    assert (checked["links"], checked["links_finished_at"] is not None) == ("checked", True)
