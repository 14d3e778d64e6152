"""Usage of installations and plugins, from call events: per day and per operation.

Aggregated in the database (PostgreSQL's percentile_cont for p50/p95; on SQLite, `make run`'s
database, the percentiles are computed in Python from the period's latencies, which is fine
at a laptop's scale). Days without calls are filled in, so charts have one point per day.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from plugins.charts import Point
from plugins.installations.models import CallEvent

PERIODS = (7, 30)
FAILED = ~Q(decision="allowed") | Q(upstream_status__gte=400)


class Percentile(Aggregate):
    """percentile_cont(fraction) WITHIN GROUP (ORDER BY expression): PostgreSQL only."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


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


def events_since(*, days: int, **scope) -> QuerySet[CallEvent]:
    """Call events of the last `days` days, scoped by `installation=` or `plugin=`."""
    since = timezone.now() - timedelta(days=days)
    return CallEvent.objects.filter(created_at__gte=since, **scope)


def _grouped(events: QuerySet[CallEvent], field: str) -> list[Row]:
    counts = events.values(field).annotate(calls=Count("id"), errors=Count("id", filter=FAILED))
    if connection.vendor == "postgresql":
        rows = counts.annotate(
            p50=Percentile("latency_ms", 0.5), p95=Percentile("latency_ms", 0.95)
        ).order_by(field)
        return [Row(r[field], r["calls"], r["errors"], r["p50"], r["p95"]) for r in rows]
    latencies: dict = {}
    for key, latency in events.values_list(field, "latency_ms"):
        latencies.setdefault(key, []).append(latency)
    return [
        Row(r[field], r["calls"], r["errors"], *_percentiles(latencies.get(r[field], [])))
        for r in counts.order_by(field)
    ]


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94]


def per_day(*, days: int, **scope) -> list[Row]:
    """One row per day of the period, oldest first (days without calls have zeros)."""
    events = events_since(days=days, **scope).annotate(day=TruncDate("created_at"))
    found = {row.key: row for row in _grouped(events, "day")}
    today = timezone.now().date()
    return [
        found.get(day, Row(day, 0, 0, None, None))
        for day in (today - timedelta(days=n) for n in range(days - 1, -1, -1))
    ]


def per_operation(*, days: int, **scope) -> list[Row]:
    return sorted(_grouped(events_since(days=days, **scope), "operation"), key=lambda r: -r.calls)


def chart_points(rows: list[Row]) -> dict[str, list[Point]]:
    """The series the usage page draws: calls, error rate, p50 and p95 latency per day."""
    label = lambda row: row.key.strftime("%m-%d")  # noqa: E731
    return {
        "calls": [Point(label(r), r.calls) for r in rows],
        "errors": [Point(label(r), r.error_rate if r.calls else None) for r in rows],
        "p50": [Point(label(r), r.p50) for r in rows],
        "p95": [Point(label(r), r.p95) for r in rows],
    }
