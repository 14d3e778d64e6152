"""Usage of an installation from its call events: per operation and per day, for the UI."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.utils import timezone

from plugins.installations.models import CallDecision, CallEvent, Installation

MAX_DAYS = 90


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def usage_of(*, installation: Installation, days: int = 30) -> dict:
    """Calls, error rate and latency p50/p95 (ms) per operation, and calls per day.

    An error is any call that did not get a 2xx/3xx answer from the plugin (refusals by the
    marketplace included).
    """
    days = max(1, min(days, MAX_DAYS))
    since = timezone.now() - dt.timedelta(days=days)
    rows = CallEvent.objects.filter(installation=installation, created_at__gte=since).values_list(
        "operation", "decision", "upstream_status", "latency_ms", "created_at"
    )
    per_operation: dict[str, dict] = defaultdict(lambda: {"calls": 0, "errors": 0, "latencies": []})
    per_day: dict[str, int] = defaultdict(int)
    for operation, decision, status, latency, created in rows:
        entry = per_operation[operation]
        entry["calls"] += 1
        ok = decision == CallDecision.ALLOWED and status is not None and status < 400
        entry["errors"] += 0 if ok else 1
        if decision == CallDecision.ALLOWED:
            entry["latencies"].append(latency)
        per_day[created.date().isoformat()] += 1
    operations = []
    for operation, entry in sorted(per_operation.items()):
        ordered = sorted(entry["latencies"])
        operations.append(
            {
                "operation": operation,
                "calls": entry["calls"],
                "error_rate": round(entry["errors"] / entry["calls"], 4),
                "p50_ms": _percentile(ordered, 0.5),
                "p95_ms": _percentile(ordered, 0.95),
            }
        )
    return {
        "days": days,
        "operations": operations,
        "per_day": [{"day": day, "calls": n} for day, n in sorted(per_day.items())],
    }
