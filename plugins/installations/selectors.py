"""Reads on installations, always scoped to one organization."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Organization
from plugins.installations.models import Installation


def installations_of(*, organization: Organization) -> QuerySet[Installation]:
    return Installation.objects.filter(organization=organization).select_related(
        "plugin", "version"
    )


def installation_of(*, organization: Organization, installation_id: int) -> Installation | None:
    """The organization's installation with that id; None for missing and not-yours alike."""
    return installations_of(organization=organization).filter(pk=installation_id).first()
