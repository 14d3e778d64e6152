"""Usage of installations and plugins per day and per operation, read from the daily rollups:
the one reader behind the console's charts and `GET /api/v1/installations/{id}/usage`.

The rollups (plugins.installations.rollups) hold, per operation and day, how many calls fell in
each bucket of a fixed log-scale latency histogram and how many failed; they are written with
the call events themselves, so today's figures are as current as the call log. Two grouped
queries per page whatever the number of calls: counts are exact, p50/p95 are read from the
merged histograms, within 4.4 % of the exact nearest-rank value
(plugins.installations.latency.MAX_RELATIVE_ERROR). A period of N days is today and the N-1
days before it; days without calls are filled in, so charts have one point per day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import QuerySet, Sum
from django.utils import timezone

from plugins.installations.latency import percentile
from plugins.installations.models import InstallationDailyUsage, PluginDailyUsage

PERIODS = (7, 30)
MAX_DAYS = 90


@dataclass(frozen=True)
class Row:
    key: str | date
    calls: int
    errors: int
    p50: float | None
    p95: float | None

    @property
    def error_rate(self) -> float:
        return 100.0 * self.errors / self.calls if self.calls else 0.0


def first_day(days: int) -> date:
    return timezone.localdate() - timedelta(days=days - 1)


def rollups_since(*, days: int, installation=None, plugin=None) -> QuerySet:
    """The rollup rows of the last `days` days (today included) of an installation or plugin."""
    if installation is not None:
        rows = InstallationDailyUsage.objects.filter(installation=installation)
    else:
        rows = PluginDailyUsage.objects.filter(plugin=plugin)
    return rows.filter(day__gte=first_day(days))


def _grouped(rows: QuerySet, field: str) -> list[Row]:
    histograms: dict = defaultdict(dict)
    totals: dict = defaultdict(lambda: [0, 0])
    summed = (
        rows.values(field, "bucket")
        .annotate(n=Sum("calls"), failed=Sum("errors"))
        .order_by()
        .values_list(field, "bucket", "n", "failed")
    )
    for key, bucket, calls, errors in summed:
        histograms[key][bucket] = calls
        totals[key][0] += calls
        totals[key][1] += errors
    return [
        Row(key, calls, errors, percentile(histograms[key], 0.5), percentile(histograms[key], 0.95))
        for key, (calls, errors) in totals.items()
    ]


def per_day(*, days: int, **scope) -> list[Row]:
    """One row per day of the period, oldest first (days without calls have zeros)."""
    found = {row.key: row for row in _grouped(rollups_since(days=days, **scope), "day")}
    start = first_day(days)
    return [
        found.get(day, Row(day, 0, 0, None, None))
        for day in (start + timedelta(days=n) for n in range(days))
    ]


def per_operation(*, days: int, **scope) -> list[Row]:
    rows = _grouped(rollups_since(days=days, **scope), "operation")
    return sorted(rows, key=lambda r: (-r.calls, r.key))


def usage_of(*, installation, days: int = 30) -> dict:
    """The REST API's body: calls, error rate and latency p50/p95 (ms) per operation, and calls
    per day, for today and the `days` - 1 days before it (1 to MAX_DAYS)."""
    days = max(1, min(days, MAX_DAYS))
    return {
        "days": days,
        "operations": [
            {
                "operation": row.key,
                "calls": row.calls,
                "error_rate": round(row.errors / row.calls, 4),
                "p50_ms": row.p50,
                "p95_ms": row.p95,
            }
            for row in sorted(per_operation(days=days, installation=installation), key=_by_key)
        ],
        "per_day": [
            {"day": row.key.isoformat(), "calls": row.calls}
            for row in per_day(days=days, installation=installation)
            if row.calls
        ],
    }


def _by_key(row: Row):
    return row.key
