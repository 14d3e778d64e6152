"""The audit trail: one function records, one selector reads.

Every credential, membership, invitation and plugin-publishing change calls `record_event`
inside the same transaction as the change, so an event exists exactly when the change does.
"""

from __future__ import annotations

from django.db.models import QuerySet

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


def events_of(*, organization: Organization, limit: int = 200) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(organization=organization).select_related("actor")[:limit]
