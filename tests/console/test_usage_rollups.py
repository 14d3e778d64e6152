"""The usage charts read daily rollups that the call-event drain keeps: the same figures as a
computation over the raw call events (counts exact, p50/p95 within the histogram's documented
error), never a call counted twice when a batch is replayed or a drain dies mid-way."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.db.models import F, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from plugins.installations import rollups, usage
from plugins.installations.latency import (
    MAX_RELATIVE_ERROR,
    bucket_expression,
    bucket_of,
    percentile,
    representative,
)
from plugins.installations.models import CallEvent, InstallationDailyUsage, PluginDailyUsage
from plugins.proxy import events
from plugins.proxy.events import drain_call_events, record_call, store_events

OPERATIONS = ("listTables", "querySqlDatabase", "describeTable")


def fixture_events(installation, n=1500, seed=7):
    """n call events over the last 12 days (today included): log-normal latencies, some
    refusals and upstream errors, three operations."""
    rng = random.Random(seed)
    now = timezone.now()
    rows = []
    for i in range(n):
        decision = "denied" if i % 17 == 0 else "allowed"
        status = None if decision != "allowed" else (502 if i % 23 == 0 else 200)
        rows.append(
            {
                "request_id": f"fx{seed}-{i}",
                "organization_id": installation.organization_id,
                "installation_id": installation.pk,
                "plugin_id": installation.plugin_id,
                "user_id": None,
                "via": "token",
                "operation": OPERATIONS[i % 3],
                "decision": decision,
                "reason": "",
                "upstream_status": status,
                "latency_ms": round(rng.lognormvariate(math.log(40 + 30 * (i % 3)), 0.6), 3),
                "upstream_ms": 1,
                "bytes_in": 10,
                "bytes_out": 10,
                "created_at": (now - timedelta(minutes=rng.randrange(0, 12 * 24 * 60))).isoformat(),
            }
        )
    return rows


def nearest_rank(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def raw_figures(days: int, key, **scope) -> dict:
    """{key: (calls, errors, p50, p95)} straight from the call events of the period."""
    since = usage.first_day(days)
    grouped: dict = {}
    for event in CallEvent.objects.filter(**scope):
        if timezone.localdate(event.created_at) < since:
            continue
        entry = grouped.setdefault(key(event), ([], [0]))
        entry[0].append(event.latency_ms)
        entry[1][0] += rollups.failed(event.decision, event.upstream_status)
    return {
        k: (len(lat), errs[0], nearest_rank(lat, 0.5), nearest_rank(lat, 0.95))
        for k, (lat, errs) in grouped.items()
    }


def assert_same(rows: list[usage.Row], raw: dict) -> None:
    shown = {row.key: row for row in rows if row.calls}
    assert set(shown) == set(raw)
    for key, (calls, errors, p50, p95) in raw.items():
        row = shown[key]
        assert (row.calls, row.errors) == (calls, errors), key
        for got, exact in ((row.p50, p50), (row.p95, p95)):
            assert abs(got - exact) <= MAX_RELATIVE_ERROR * exact + 0.01, (key, got, exact)


def test_the_histogram_reads_percentiles_within_its_documented_error():
    rng = random.Random(3)
    values = [rng.lognormvariate(4, 1.2) for _ in range(5000)]
    counts: dict[int, int] = {}
    for value in values:
        counts[bucket_of(value)] = counts.get(bucket_of(value), 0) + 1
    for fraction in (0.5, 0.95, 0.99):
        exact = nearest_rank(values, fraction)
        assert abs(percentile(counts, fraction) - exact) <= MAX_RELATIVE_ERROR * exact + 0.01
    assert percentile({}, 0.5) is None
    assert MAX_RELATIVE_ERROR < 0.045
    assert representative(bucket_of(100.0)) == pytest.approx(100.0, rel=MAX_RELATIVE_ERROR)


def test_the_database_buckets_latencies_as_the_drain_does(data_install):
    latencies = [0, 0.004, 0.5, 1, 3.3, 12.5, 99.9, 250, 1234.5, 60_000, 10**9]
    store_events(
        [
            CallEvent(
                request_id=f"b{i}",
                organization_id=data_install.organization_id,
                installation=data_install,
                operation="listTables",
                decision="allowed",
                latency_ms=latency,
                created_at=timezone.now(),
            )
            for i, latency in enumerate(latencies)
        ]
    )
    in_sql = CallEvent.objects.annotate(b=bucket_expression()).order_by("latency_ms")
    assert [(e.latency_ms, e.b) for e in in_sql] == [(v, bucket_of(v)) for v in latencies]


@pytest.mark.parametrize("days", [7, 30])
def test_rollup_figures_equal_the_raw_computation(data_install, days):
    for event in fixture_events(data_install):
        record_call(event)
    assert drain_call_events() == 1500
    for scope in ({"installation": data_install}, {"plugin": data_install.plugin}):
        by_day = raw_figures(days, lambda e: timezone.localdate(e.created_at), **scope)
        assert_same(usage.per_day(days=days, **scope), by_day)
        by_operation = raw_figures(days, lambda e: e.operation, **scope)
        assert_same(usage.per_operation(days=days, **scope), by_operation)
    assert len(usage.per_day(days=days, installation=data_install)) == days


def snapshot() -> list[tuple]:
    return sorted(
        (*row, kind)
        for kind, model in (("i", InstallationDailyUsage), ("p", PluginDailyUsage))
        for row in model.objects.values_list("day", "operation", "bucket", "calls", "errors")
    )


def test_a_replayed_batch_is_not_counted_twice(data_install):
    payloads = fixture_events(data_install, n=300)
    for event in payloads:
        record_call(event)
    drain_call_events()
    once = snapshot()
    assert sum(row[3] for row in once if row[-1] == "i") == 300
    # The stream delivers the same events again (a drainer acknowledged nothing and died).
    for event in payloads[:120]:
        record_call(event)
    drain_call_events()
    store_events([CallEvent(**CallEvent.objects.values().get(request_id="fx7-5") | {"id": None})])
    assert snapshot() == once
    assert CallEvent.objects.count() == 300


def test_a_drain_that_dies_mid_batch_counts_nothing_and_the_next_one_counts_once(data_install):
    payloads = fixture_events(data_install, n=200)
    for event in payloads:
        record_call(event)
    with (
        mock.patch.object(rollups, "add_events", side_effect=RuntimeError("worker killed")),
        pytest.raises(RuntimeError),
    ):
        drain_call_events()
    assert CallEvent.objects.count() == 0  # the events' insert rolled back with the counts
    assert snapshot() == []
    # The entries are still pending: the next drain claims and stores them, once.
    assert drain_call_events(claim_idle_ms=0) == 200
    assert sum(row[3] for row in snapshot() if row[-1] == "i") == 200
    assert sum(row[4] for row in snapshot() if row[-1] == "p") == sum(
        rollups.failed(p["decision"], p["upstream_status"]) for p in payloads
    )


def test_rebuilding_from_the_call_events_gives_the_same_rows(data_install):
    for event in fixture_events(data_install, n=400, seed=11):
        record_call(event)
    drain_call_events()
    incremental = snapshot()
    PluginDailyUsage.objects.update(calls=F("calls") + 1)  # damage to repair
    assert rollups.rebuild() == len(incremental)
    assert snapshot() == incremental


@pytest.mark.django_db(transaction=True)
def test_two_drains_given_the_same_events_at_once_store_and_count_them_once(data_install):
    import threading

    from django.db import connections

    payloads = [events._payload(p) for p in fixture_events(data_install, n=50)]
    inserted, results = threading.Event(), {}
    real_add = rollups.add_events

    def slow_add(rows):  # the first drain pauses between its insert and its commit
        real_add(rows)
        if threading.current_thread().name == "first":
            inserted.set()
            threading.Event().wait(0.5)

    def drain(name):
        try:
            events._insert(payloads)
            results[name] = "ok"
        except Exception as exc:  # reported below
            results[name] = repr(exc)
        finally:
            connections.close_all()

    with mock.patch.object(rollups, "add_events", slow_add):
        first = threading.Thread(target=drain, args=("first",), name="first")
        first.start()
        assert inserted.wait(10), results
        second = threading.Thread(target=drain, args=("second",), name="second")
        second.start()
        first.join(20)
        second.join(20)
    assert results == {"first": "ok", "second": "ok"}
    assert CallEvent.objects.count() == 50
    assert InstallationDailyUsage.objects.aggregate(n=Sum("calls"))["n"] == 50


def test_the_publishers_usage_page_costs_the_same_queries_with_more_calls_and_days(
    web_as, alice, data_install
):
    web = web_as(alice)
    url = f"/o/acme/plugins/{data_install.plugin_id}/usage/?days=30"
    for event in fixture_events(data_install, n=3, seed=4):
        record_call(event)
    drain_call_events()
    web.get(url)
    with CaptureQueriesContext(connection) as few:
        assert web.get(url).status_code == 200
    for event in fixture_events(data_install, n=900, seed=5):
        record_call(event)
    drain_call_events()
    with CaptureQueriesContext(connection) as many:
        page = web.get(url)
    assert len(many) == len(few)
    assert "903 calls in the last 30 days." in page.content.decode()
