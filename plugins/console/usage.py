"""The usage page's charts: series drawn from the rollup reader, plugins.installations.usage."""

from __future__ import annotations

from plugins.charts import Point
from plugins.installations.usage import PERIODS, Row, per_day, per_operation

__all__ = ["PERIODS", "chart_points", "per_day", "per_operation"]


def chart_points(rows: list[Row]) -> dict[str, list[Point]]:
    """The series the usage page draws: calls, error rate, p50 and p95 latency per day."""
    label = lambda row: row.key.strftime("%m-%d")  # noqa: E731
    return {
        "calls": [Point(label(r), r.calls) for r in rows],
        "errors": [Point(label(r), r.error_rate if r.calls else None) for r in rows],
        "p50": [Point(label(r), r.p50) for r in rows],
        "p95": [Point(label(r), r.p95) for r in rows],
    }
