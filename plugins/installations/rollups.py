"""Daily usage rollups: per installation (and per plugin), operation, day and latency bucket,
the number of calls and of failed calls.

`add_events(rows)` is called by the call-event drain inside the transaction that inserts those
events, with only the events that transaction inserted (the drain serialises itself and skips
request ids already stored): the events and their counts commit together or not at all, so a
crash or a replayed batch never counts a call twice, and today's rows are as current as the
call log. `rebuild()` recomputes every row from the call events (the migration that introduced
the rollups runs it; `manage.py rebuild_usage_rollups` for repairs).

A failed call is one the marketplace refused or the plugin answered with 4xx/5xx
(`FAILED`, the same rule the charts always used).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from plugins.installations.latency import bucket_expression, bucket_of
from plugins.installations.models import CallEvent, InstallationDailyUsage, PluginDailyUsage

FAILED = ~Q(decision="allowed") | Q(upstream_status__gte=400)


def failed(decision: str, upstream_status: int | None) -> bool:
    """FAILED, for one event in memory."""
    return decision != "allowed" or (upstream_status is not None and upstream_status >= 400)


def add_events(rows: Iterable[CallEvent]) -> None:
    """Count freshly inserted call events into the rollups (one upsert per scope)."""
    by_installation: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    by_plugin: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        slot = (timezone.localdate(row.created_at), row.operation, bucket_of(row.latency_ms))
        error = int(failed(row.decision, row.upstream_status))
        targets = []
        if row.installation_id:
            targets.append(by_installation[(row.organization_id, row.installation_id, *slot)])
        if row.plugin_id:
            targets.append(by_plugin[(row.plugin_id, *slot)])
        for counts in targets:
            counts[0] += 1
            counts[1] += error
    _upsert(InstallationDailyUsage, ("organization_id", "installation_id"), by_installation)
    _upsert(PluginDailyUsage, ("plugin_id",), by_plugin)


def _upsert(model, owner_columns: tuple[str, ...], counts: dict[tuple, list[int]]) -> None:
    """Add `counts` ({(*owners, day, operation, bucket): [calls, errors]}) to `model`'s rows."""
    if not counts:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    conflict = ", ".join((owner_columns[-1], "day", "operation", "bucket"))
    columns = ", ".join((*owner_columns, "day", "operation", "bucket", "calls", "errors"))
    placeholders = ", ".join(["%s"] * (len(owner_columns) + 5))
    # Names from the model's metadata, values as parameters.
    statement = (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({conflict}) DO UPDATE SET "
        f"calls = {table}.calls + excluded.calls, errors = {table}.errors + excluded.errors"
    )
    with connection.cursor() as cursor:
        cursor.executemany(statement, [(*key, *values) for key, values in counts.items()])


def serialise_drains() -> None:
    """Within a transaction: wait for any other drain's transaction to finish, so the drain's
    "already stored?" check sees its events (PostgreSQL; SQLite serialises writers anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('call-event-drain'))")


def grouped_events(events, *owners: str):
    """Call events as rollup rows: {*owners, day, operation, bucket, calls, errors} (in SQL)."""
    return (
        events.annotate(day=TruncDate("created_at"), bucket=bucket_expression())
        .values(*owners, "day", "operation", "bucket")
        .annotate(calls=Count("id"), errors=Count("id", filter=FAILED))
        .order_by()
    )


@transaction.atomic
def rebuild(*, call_events=None, installation_usage=None, plugin_usage=None) -> int:
    """Recompute every rollup row from the call events; returns the rows written. The models
    may be passed in (a migration's historical models)."""
    call_events = call_events or CallEvent
    installation_usage = installation_usage or InstallationDailyUsage
    plugin_usage = plugin_usage or PluginDailyUsage
    serialise_drains()
    installation_usage.objects.all().delete()
    plugin_usage.objects.all().delete()
    events = call_events.objects.all()
    written = 0
    for model, owners, scoped in (
        (
            installation_usage,
            ("organization_id", "installation_id"),
            events.filter(installation__isnull=False),
        ),
        (plugin_usage, ("plugin_id",), events.filter(plugin__isnull=False)),
    ):
        grouped = grouped_events(scoped, *owners)
        batch = [model(**row) for row in grouped.iterator(chunk_size=5000)]
        model.objects.bulk_create(batch, batch_size=5000)
        written += len(batch)
    return written
