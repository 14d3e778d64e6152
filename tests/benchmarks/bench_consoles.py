"""Server time of the consoles' pages at realistic size: `python -m tests.benchmarks.bench_consoles`
(or `make bench`).

Builds, in a throw-away test database (PostgreSQL when DATABASE_URL is set, else SQLite), an
organization with 200 members, an audit log of 100,000 events, a published plugin with ten
versions and one awaiting review, installed, with 1,000,000 call events over 30 days
(PostgreSQL only) counted into the daily usage rollups; then requests each page through
Django's test client (the whole middleware stack, no network) and prints a markdown table: p50
and p95 server time, each
as a ratio to a trivial endpoint (/healthz) measured in the same run, and the queries each page
made. The CSV export streams all 100,000 events; its peak Python memory is shown too (it must
not grow with the log). Not collected by pytest; the query counts are asserted in the tests.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from urllib.parse import quote

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
os.environ.setdefault("ENVIRONMENT", "development")
os.environ.setdefault("DEBUG", "false")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)
from django.utils import timezone  # noqa: E402

from accounts.audit import AuditFilters, filtered_events  # noqa: E402

EVENTS = int(os.environ.get("BENCH_AUDIT_EVENTS", "100000"))
CALLS = int(os.environ.get("BENCH_CALL_EVENTS", "1000000"))
MEMBERS = 200
REPEATS = int(os.environ.get("BENCH_REPEATS", "25"))


def build():
    from accounts.models import AuditEvent, Membership, Role, User
    from accounts.services import create_organization, create_user
    from plugins import review
    from plugins.ingest.run import execute_run
    from plugins.registration import register_plugin_by_upload
    from tests.support.trips_plugin import MANIFEST, openapi, publish_trips

    owner = create_user(email="owner@bench.example", password="x" * 16, verified=True)
    User.objects.filter(pk=owner.pk).update(is_staff=True, is_superuser=True)
    owner.refresh_from_db()
    org = create_organization(name="Bench Org", slug="bench", owner=owner)
    users = User.objects.bulk_create(
        [User(email=f"member{i}@bench.example", name=f"Member {i}") for i in range(MEMBERS - 1)]
    )
    Membership.objects.bulk_create(
        [Membership(organization=org, user=u, role=Role.MEMBER) for u in users]
    )
    for number in range(10):
        spec = openapi(extra_operation=number % 2 == 1)
        spec["info"]["version"] = str(number)
        plugin = publish_trips(org, owner, spec=spec)
    # One more version awaiting review, for the review screen.
    spec = openapi(extra_operation=True)
    spec["info"]["version"] = "candidate"
    submission = register_plugin_by_upload(
        organization=org,
        manifest=json.dumps(MANIFEST).encode(),
        openapi=json.dumps(spec).encode(),
        origin="trips.example.com",
        visibility="public",
        submitted_by=owner,
    )
    execute_run(submission.run.pk)
    submission.version.refresh_from_db()
    review.submit_for_review(plugin=plugin, version=submission.version, submitted_by=owner)

    start = timezone.now() - timedelta(days=60)
    step = timedelta(days=60) / EVENTS
    batch = []
    for i in range(EVENTS):
        decision = "denied" if i % 10 == 0 else "allowed"
        batch.append(
            AuditEvent(
                organization=org,
                actor_id=users[i % len(users)].pk,
                actor_label=users[i % len(users)].email,
                action="call.decided",
                target="Trip Planner" if i % 3 else "Weather",
                details={"decision": decision, "operation": "searchHotels", "status": 200},
            )
        )
        if len(batch) == 5000:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    AuditEvent.objects.bulk_create(batch)
    if connection.vendor == "postgresql":
        # Spread the calls over 60 days, in insertion order, in one statement.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE accounts_auditevent SET created_at = %s + (id - %s) * %s "
                "WHERE organization_id = %s AND action = 'call.decided'",
                [start, first_call_pk(org), step, org.pk],
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE accounts_auditevent")
    plugin.refresh_from_db()
    installation = add_calls(org, owner, users, plugin)
    return owner, org, plugin, installation


def add_calls(org, owner, users, plugin):
    """An installation with CALLS call events over 30 days (PostgreSQL: one INSERT … SELECT)."""
    from plugins.installations.models import CallEvent
    from plugins.installations.rollups import rebuild
    from plugins.installations.services import install_plugin

    installation = install_plugin(
        organization=org, version=plugin.published_version, installed_by=owner
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {CallEvent._meta.db_table}
                  (request_id, organization_id, installation_id, plugin_id, user_id, via,
                   operation, decision, reason, upstream_status, latency_ms, upstream_ms,
                   bytes_in, bytes_out, created_at)
                SELECT 'b' || n, %s, %s, %s, %s, 'token',
                       CASE n %% 3 WHEN 0 THEN 'searchHotels' WHEN 1 THEN 'bookHotel'
                                  ELSE 'getWeather' END,
                       CASE WHEN n %% 50 = 0 THEN 'denied' ELSE 'allowed' END,
                       '', CASE WHEN n %% 50 = 0 THEN NULL ELSE 200 END,
                       20 + (n %% 97), 15 + (n %% 89), 300, 200,
                       now() - (n * interval '1 second' * (30 * 86400.0 / %s))
                FROM generate_series(1, %s) AS n
                """,
                [org.pk, installation.pk, plugin.pk, users[0].pk, CALLS, CALLS],
            )
            cursor.execute(f"ANALYZE {CallEvent._meta.db_table}")
    # Inserted behind the drain's back: count them into the daily rollups the charts read.
    started = time.perf_counter()
    rows = rebuild()
    print(
        f"rollups rebuilt from {CALLS:,} call events: {rows} rows in "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return installation


def first_call_pk(org) -> int:
    from accounts.models import AuditEvent

    return AuditEvent.objects.filter(organization=org, action="call.decided").order_by("pk")[0].pk


def organization_key(org, owner) -> str:
    from accounts.models import CredentialKind
    from accounts.services import issue_credential

    _, token = issue_credential(
        organization=org, kind=CredentialKind.ORGANIZATION, name="bench", created_by=owner
    )
    return token


def measure(client: Client, path: str, repeats: int) -> tuple[list[float], int, int]:
    client.get(path)  # warm caches and connections
    runs = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        response = client.get(path)
        if response.streaming:
            for _ in response.streaming_content:
                pass
        runs.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
        if response.streaming:
            for _ in response.streaming_content:
                pass
    assert response.status_code == 200, (path, response.status_code)
    return runs, len(queries), response.status_code


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    setup_test_environment()
    if connection.vendor == "postgresql":
        # Its own database, so a test run next to it keeps test_<name>.
        connection.settings_dict["TEST"]["NAME"] = f"bench_{connection.settings_dict['NAME']}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        owner, org, plugin, installation = build()
        client = Client()
        client.force_login(owner)
        # A cursor deep in the log: the 50,001st event.
        deep = filtered_events(organization=org, filters=AuditFilters())[EVENTS // 2]
        cursor = f"{deep.created_at.isoformat()}~{deep.pk}"
        pages = [
            ("trivial endpoint (/healthz)", "/healthz", REPEATS),
            ("audit log, first page", "/o/bench/activity/", REPEATS),
            (
                "audit log, page at event 50,000",
                f"/o/bench/activity/?before={quote(cursor)}",
                REPEATS,
            ),
            ("audit log, decision=denied", "/o/bench/activity/?decision=denied", REPEATS),
            (
                "audit log, person + plugin + dates",
                "/o/bench/activity/?user=member7%40bench.example&plugin=Weather&since=2000-01-01",
                REPEATS,
            ),
            ("members (200), first page of 50", "/o/bench/members/", REPEATS),
            ("members (200), found by email", "/o/bench/members/?q=member7", REPEATS),
            ("publisher plugin list", "/o/bench/plugins/", REPEATS),
            ("publisher plugin page (11 versions)", f"/o/bench/plugins/{plugin.pk}/", REPEATS),
            ("storefront plugin page", f"/plugins/{plugin.public_id}/", REPEATS),
            ("operators' review screen", f"/admin/plugins/plugin/{plugin.pk}/review/", REPEATS),
            (
                f"installation page, usage of {CALLS:,} calls, 7 days",
                f"/o/bench/installations/{installation.pk}/",
                REPEATS,
            ),
            (
                "installation page, usage, 30 days",
                f"/o/bench/installations/{installation.pk}/?days=30",
                REPEATS,
            ),
            ("installed plugins list", "/o/bench/installations/", REPEATS),
            ("call log, first page", "/o/bench/calls/", REPEATS),
            ("call log, decision=denied", "/o/bench/calls/?decision=denied", REPEATS),
            ("publisher usage, 7 days", f"/o/bench/plugins/{plugin.pk}/usage/", REPEATS),
            ("publisher usage, 30 days", f"/o/bench/plugins/{plugin.pk}/usage/?days=30", REPEATS),
            (f"CSV export ({EVENTS:,} events)", "/o/bench/activity.csv", 3),
        ]
        results = []
        for label, path, repeats in pages:
            runs, queries, _ = measure(client, path, repeats)
            results.append((label, statistics.median(runs), p95(runs), queries))
        api = Client(HTTP_AUTHORIZATION=f"Bearer {organization_key(org, owner)}")
        for days in (7, 30):
            path = f"/api/v1/installations/{installation.pk}/usage?days={days}"
            runs, queries, _ = measure(api, path, REPEATS)
            label = f"API usage of {CALLS:,} calls, {days} days"
            results.append((label, statistics.median(runs), p95(runs), queries))
        tracemalloc.start()
        response = client.get("/o/bench/activity.csv")
        size = sum(len(chunk) for chunk in response.streaming_content)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()

    base = results[0][1]
    print(
        f"\nConsoles at size ({connection.vendor}; {MEMBERS} members, {EVENTS:,} audit events, "
        f"{CALLS:,} call events)\n"
    )
    print("| page | p50 ms | p95 ms | p50 / trivial | p95 / trivial | queries |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, p50, p95_, queries in results:
        print(
            f"| {label} | {p50 * 1000:.1f} | {p95_ * 1000:.1f} | {p50 / base:.1f}x | "
            f"{p95_ / base:.1f}x | {queries} |"
        )
    print(
        f"\nCSV export: {size / 1e6:.1f} MB streamed; peak Python memory while streaming "
        f"{peak / 1e6:.1f} MB (tracemalloc).\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
