"""The organization's call log: every call through the proxy, filtered, in keyset pages, and as
a streamed CSV. Events hold no bodies, arguments or secrets (plugins.proxy.events)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Organization
from plugins.installations.models import CallEvent


@dataclass(frozen=True)
class CallFilters:
    user: str = ""  # an email
    plugin: str = ""  # the plugin's (listed) name
    decision: str = ""  # CallDecision value
    since: date | None = None
    until: date | None = None

    @property
    def active(self) -> bool:
        return any((self.user, self.plugin, self.decision, self.since, self.until))


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered_calls(*, organization: Organization, filters: CallFilters) -> QuerySet[CallEvent]:
    calls = CallEvent.objects.filter(organization=organization)
    if filters.user:
        calls = calls.filter(user__email__iexact=filters.user)
    if filters.plugin:
        calls = calls.filter(
            Q(plugin__listed_name__iexact=filters.plugin) | Q(plugin__name__iexact=filters.plugin)
        )
    if filters.decision:
        calls = calls.filter(decision=filters.decision)
    if filters.since:
        calls = calls.filter(created_at__gte=_start_of(filters.since))
    if filters.until:
        calls = calls.filter(created_at__lt=_start_of(filters.until + timedelta(days=1)))
    return calls.select_related("user", "plugin").order_by("-created_at", "-pk")


def calls_page(
    *, organization: Organization, filters: CallFilters, cursor: str = "", size: int = 50
) -> tuple[list[CallEvent], str | None]:
    calls = filtered_calls(organization=organization, filters=filters)
    stamp, _, pk = (cursor or "").partition("~")
    try:
        at, number = datetime.fromisoformat(stamp), int(pk)
    except ValueError:
        at = None
    if at is not None and at.tzinfo is not None:
        calls = calls.filter(
            Q(created_at__lte=at), Q(created_at__lt=at) | Q(created_at=at, pk__lt=number)
        )
    rows = list(calls[: size + 1])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, f"{rows[-1].created_at.isoformat()}~{rows[-1].pk}"


class _Line:
    def write(self, value: str) -> str:
        return value


HEADER = ["time", "user", "plugin", "operation", "decision", "reason", "status", "latency_ms"]


def _safe(value: str) -> str:
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def csv_chunks(calls: Iterable[CallEvent], *, rows_per_chunk: int = 500) -> Iterator[str]:
    writer = csv.writer(_Line())
    chunk = [writer.writerow(HEADER)]
    for call in calls:
        chunk.append(
            writer.writerow(
                [
                    call.created_at.isoformat(),
                    call.user.email if call.user else "",
                    _safe(call.plugin.listed_name or call.plugin.name) if call.plugin else "",
                    _safe(call.operation),
                    call.decision,
                    _safe(call.reason),
                    call.upstream_status or "",
                    f"{call.latency_ms:.1f}",
                ]
            )
        )
        if len(chunk) >= rows_per_chunk:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)
