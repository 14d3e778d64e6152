"""Reads for the console's pages."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Membership, Organization, Role
from plugins.installations.models import Installation, InstallationDailyUsage
from plugins.models import LARGE_VERSION_FIELDS, Plugin, PluginVersion, ValidationState

ADMIN_ROLES = (Role.OWNER, Role.ADMIN)


def install_targets(*, user, plugin: Plugin) -> list[dict]:
    """The user's organizations where they may install `plugin`, each with its installation
    (or None): one query."""
    if not user.is_authenticated:
        return []
    memberships = list(
        Membership.objects.filter(user=user, role__in=ADMIN_ROLES)
        .select_related("organization")
        .order_by("organization__is_personal", "organization__name")
    )
    installed = dict(
        Installation.objects.filter(
            plugin=plugin, organization__in=[m.organization_id for m in memberships]
        ).values_list("organization_id", "pk")
    )
    return [
        {"organization": m.organization, "installation_id": installed.get(m.organization_id)}
        for m in memberships
    ]


def installations_with_usage(*, organization: Organization) -> QuerySet[Installation]:
    """The organization's installations, each with `calls_7d` (today and the six days before)
    and `upgrade` (a newer published
    version exists), in one query."""
    week = timezone.localdate() - timezone.timedelta(days=6)
    return (
        Installation.objects.filter(organization=organization)
        .select_related("plugin", "version", "plugin__published_version", "plugin__organization")
        .defer(
            *[
                f"{prefix}__{field}"
                for prefix in ("version", "plugin__published_version")
                for field in (*LARGE_VERSION_FIELDS, "diff")
            ]
        )
        .annotate(
            # A subquery per row on the daily rollups: a handful of rows per day.
            calls_7d=Coalesce(
                Subquery(
                    InstallationDailyUsage.objects.filter(
                        installation=OuterRef("pk"), day__gte=week
                    )
                    .order_by()
                    .values("installation")
                    .annotate(n=Sum("calls"))
                    .values("n")[:1]
                ),
                0,
            )
        )
        .order_by("plugin__name")
    )


def pinnable_versions(*, installation: Installation) -> QuerySet[PluginVersion]:
    """Versions the installation may be pinned to: passed, numbered, up to the published one
    (the publisher's own organization may pin any passed version)."""
    plugin = installation.plugin
    versions = PluginVersion.objects.filter(
        plugin=plugin, validation_state=ValidationState.PASSED, number__isnull=False
    )
    if installation.organization_id != plugin.organization_id:
        top = plugin.published_version.number if plugin.published_version_id else 0
        versions = versions.filter(number__lte=top)
    return versions.only("number", "plugin_id", "validated_at").order_by("-number")
