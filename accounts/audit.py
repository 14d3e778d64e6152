"""The audit trail: one function records, one selector reads.

Every credential, membership, invitation and plugin-publishing change calls `record_event`
inside the same transaction as the change, so an event exists exactly when the change does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import AuditEvent, Organization, User

# Keys that must never be written into an event's details, whatever a caller passes.
_FORBIDDEN_DETAIL_KEYS = {
    "token",
    "secret",
    "password",
    "secret_hash",
    "access_token",
    "refresh_token",
    "client_secret",
}


def record_event(
    *,
    organization: Organization,
    action: str,
    actor: User | None = None,
    actor_label: str = "",
    target: str = "",
    **details,
) -> AuditEvent:
    leaked = _FORBIDDEN_DETAIL_KEYS & set(details)
    if leaked:
        raise ValueError(f"audit details may not carry secrets: {sorted(leaked)}")
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor,
        actor_label=actor_label or (actor.email if actor else "system"),
        action=action,
        target=target[:254],
        details=details,
    )


@dataclass(frozen=True)
class AuditFilters:
    """What the audit log page narrows by. Empty fields don't filter."""

    user: str = ""  # an email: events by that person (also after they left)
    plugin: str = ""  # a plugin's name as the events name it
    decision: str = ""  # "allowed" | "denied": the proxy's decision on a call
    since: date | None = None
    until: date | None = None  # inclusive

    @property
    def active(self) -> bool:
        return any((self.user, self.plugin, self.decision, self.since, self.until))


def filtered_events(*, organization: Organization, filters: AuditFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(organization=organization)
    if filters.user:
        # The person's account is looked up first, so that both halves of the OR are index
        # scans (a join inside the OR made PostgreSQL read the organization's whole log).
        accounts = list(
            User.objects.filter(email__iexact=filters.user).values_list("pk", flat=True)
        )
        events = events.filter(Q(actor_id__in=accounts) | Q(actor_label__iexact=filters.user))
    if filters.plugin:
        events = events.filter(
            Q(target__iexact=filters.plugin) | Q(details__plugin__iexact=filters.plugin)
        )
    if filters.decision:
        events = events.filter(details__decision=filters.decision)
    if filters.since:
        events = events.filter(created_at__gte=_start_of(filters.since))
    if filters.until:
        events = events.filter(created_at__lt=_start_of(filters.until + timedelta(days=1)))
    return events.order_by("-created_at", "-pk")


def events_page(
    *, organization: Organization, filters: AuditFilters, cursor: str = "", size: int = 50
) -> tuple[list[AuditEvent], str | None]:
    """One page of events, newest first, and the cursor of the next (older) page.

    Keyset pagination: a page deep in a 100,000-event log costs what the first one does (no
    OFFSET, no COUNT).
    """
    events = filtered_events(organization=organization, filters=filters)
    position = _parse_cursor(cursor)
    if position is not None:
        at, pk = position
        # The redundant `created_at <= at` lets the (organization, -created_at) index range-scan.
        events = events.filter(
            Q(created_at__lte=at), Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk)
        )
    rows = list(events[: size + 1])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    last = rows[-1]
    return rows, f"{last.created_at.isoformat()}~{last.pk}"


def events_for_export(
    *, organization: Organization, filters: AuditFilters, chunk_size: int = 2000
) -> Iterator[AuditEvent]:
    """Every matching event, streamed from the database in chunks (a server-side cursor on
    PostgreSQL): exporting 100,000 events never holds them all in memory."""
    return filtered_events(organization=organization, filters=filters).iterator(
        chunk_size=chunk_size
    )


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _parse_cursor(cursor: str) -> tuple[datetime, int] | None:
    stamp, _, pk = (cursor or "").partition("~")
    try:
        at = datetime.fromisoformat(stamp)
        number = int(pk)
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    return at, number
