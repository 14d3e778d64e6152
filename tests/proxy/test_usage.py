"""Usage per operation and per day through the REST API: the same rollups the console's charts
read (plugins.installations.usage), so the API and the charts never disagree."""

from __future__ import annotations

from plugins.installations import usage
from plugins.proxy.events import drain_call_events
from tests.proxy.conftest import call


def test_it_counts_calls_errors_and_latency_per_operation(data_install, bob_api, upstream):
    for _ in range(3):
        call(bob_api, data_install, "listTables", {})
    call(bob_api, data_install, "querySqlDatabase", {"database": "finance", "question": "abc"})
    upstream.route("GET /databases", lambda h: h.reply(500, b"{}"))
    call(bob_api, data_install, "listTables", {})
    drain_call_events()
    usage = bob_api.get(f"/api/v1/installations/{data_install.pk}/usage").json()
    operations = {o["operation"]: o for o in usage["operations"]}
    assert operations["listTables"]["calls"] == 4
    assert operations["listTables"]["error_rate"] == 0.25
    assert operations["listTables"]["p50_ms"] > 0
    refused = operations["querySqlDatabase"]
    assert (refused["calls"], refused["error_rate"]) == (1, 1.0)
    # A refusal's latency is the marketplace's own time, counted like any other call's.
    assert refused["p50_ms"] is not None
    assert refused["p50_ms"] <= operations["listTables"]["p95_ms"]
    assert sum(d["calls"] for d in usage["per_day"]) == 5
    assert usage["days"] == 30


def test_the_api_and_the_console_read_the_same_figures(data_install, bob_api, upstream):
    for _ in range(4):
        call(bob_api, data_install, "listTables", {})
    drain_call_events()
    api = bob_api.get(f"/api/v1/installations/{data_install.pk}/usage?days=7").json()
    (row,) = usage.per_operation(days=7, installation=data_install)
    (listed,) = api["operations"]
    assert (listed["operation"], listed["calls"], listed["p50_ms"], listed["p95_ms"]) == (
        row.key,
        row.calls,
        row.p50,
        row.p95,
    )
    assert bob_api.get(f"/api/v1/installations/{data_install.pk}/usage?days=x").status_code == 400
