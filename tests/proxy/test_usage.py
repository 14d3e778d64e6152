"""Usage per operation and per day, from the call events."""

from __future__ import annotations

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
    assert operations["querySqlDatabase"] == {
        "operation": "querySqlDatabase",
        "calls": 1,
        "error_rate": 1.0,
        "p50_ms": None,
        "p95_ms": None,
    }
    assert sum(d["calls"] for d in usage["per_day"]) == 5
    assert bob_api.get(f"/api/v1/installations/{data_install.pk}/usage?days=x").status_code == 400
