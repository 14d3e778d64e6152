"""Reads about plugins. Tenant visibility rules live here and nowhere else:

- the storefront lists public plugins with a published version (approved, or approved with a
  newer candidate in review: the published version stays up meanwhile), showing and searching
  the reviewed listing (`listed_*`), never a newer unreviewed version's text;
- an unlisted approved plugin is reachable only through its unguessable public link, never
  listed and never by its integer id;
- everything else is visible only to its publisher organization.
"""

from __future__ import annotations

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.urls import reverse

from accounts.models import Organization
from plugins.models import (
    PUBLISHED_STATES,
    Plugin,
    PluginVersion,
    ReviewState,
    ValidationRun,
    ValidationState,
    Visibility,
)

_PUBLISHED = Q(review_state__in=PUBLISHED_STATES, published_version__isnull=False)


def _matches(query: str, *, listed: bool) -> Q:
    """Plugins whose text matches: the reviewed listing, or the publisher's working copy."""
    name, description = ("listed_name", "listed_description") if listed else ("name", "description")
    return (
        Q(**{f"{name}__icontains": query})
        | Q(name_for_model__icontains=query)
        | Q(**{f"{description}__icontains": query})
        | Q(origin__icontains=query)
    )


def _clean_query(query: str) -> str:
    return (query or "").strip()[:100]


# Version columns a listing never needs (documents and images can be megabytes each).
_DOCUMENT_VERSION_FIELDS = [
    f"published_version__{name}"
    for name in ("raw_manifest", "raw_openapi", "normalized_openapi", "bundled_refs", "logo")
]
_HEAVY_VERSION_FIELDS = [
    f"published_version__{name}"
    for name in (
        "raw_manifest",
        "raw_openapi",
        "normalized",
        "normalized_openapi",
        "bundled_refs",
        "logo",
        "diff",
    )
]


def storefront_plugins(*, query: str = "") -> QuerySet[Plugin]:
    listed = Plugin.objects.filter(_PUBLISHED, visibility=Visibility.PUBLIC)
    query = _clean_query(query)
    if query:
        listed = listed.filter(_matches(query, listed=True))
    return (
        listed.select_related("organization", "published_version")
        .defer(*_HEAVY_VERSION_FIELDS)
        .order_by("-updated_at")
    )


def published_plugin_or_404(*, public_id: str) -> Plugin:
    """A published public or unlisted plugin by its unguessable public id."""
    plugin = (
        Plugin.objects.filter(_PUBLISHED, public_id=public_id)
        .filter(visibility__in=[Visibility.PUBLIC, Visibility.UNLISTED])
        .select_related("organization", "published_version")
        .first()
    )
    if plugin is None:
        raise Http404
    return plugin


def plugins_visible_to(*, organization: Organization, query: str = "") -> QuerySet[Plugin]:
    """Published public plugins plus all of the organization's own."""
    own = Q(organization=organization)
    listed = Q(_PUBLISHED, visibility=Visibility.PUBLIC) & ~own
    query = _clean_query(query)
    if query:
        own &= _matches(query, listed=False)
        listed &= _matches(query, listed=True)
    return (
        Plugin.objects.filter(own | listed)
        .select_related("organization", "published_version")
        .defer(*_DOCUMENT_VERSION_FIELDS)
        .order_by("name", "pk")
    )


def plugin_visible_to_or_none(*, organization: Organization, plugin_id: int) -> Plugin | None:
    return (
        Plugin.objects.filter(pk=plugin_id)
        .filter(Q(organization=organization) | Q(_PUBLISHED, visibility=Visibility.PUBLIC))
        .select_related("organization", "published_version")
        .first()
    )


def publisher_plugins(*, organization: Organization) -> QuerySet[Plugin]:
    """The organization's plugins, each with `latest_validation` (its newest version's state)."""
    newest = PluginVersion.objects.filter(plugin=OuterRef("pk")).order_by("-created_at")
    return (
        Plugin.objects.filter(organization=organization)
        .annotate(latest_validation=Subquery(newest.values("validation_state")[:1]))
        .order_by("name")
    )


def public_url_of(*, plugin: Plugin) -> str | None:
    """The plugin's storefront page, when it has one (public or unlisted, and published)."""
    if plugin.review_state not in PUBLISHED_STATES or plugin.published_version_id is None:
        return None
    if plugin.visibility not in (Visibility.PUBLIC, Visibility.UNLISTED):
        return None
    return reverse("storefront-plugin", args=[plugin.public_id])


def versions_of(*, plugin: Plugin, include_unvalidated: bool) -> QuerySet[PluginVersion]:
    versions = plugin.versions.order_by("-number", "-created_at")
    if not include_unvalidated:
        versions = versions.filter(validated_at__isnull=False)
    return versions


def public_versions_of(*, plugin: Plugin) -> QuerySet[PluginVersion]:
    """The versions a visitor may see: validated ones up to the published one, newest first."""
    published = plugin.published_version
    if published is None or published.number is None:
        return PluginVersion.objects.none()
    return (
        plugin.versions.filter(
            validation_state=ValidationState.PASSED,
            number__isnull=False,
            number__lte=published.number,
        )
        .only("number", "validated_at", "diff", "created_at", "plugin_id")
        .order_by("-number")[:20]
    )


def latest_run(*, version: PluginVersion) -> ValidationRun | None:
    return version.runs.order_by("-created_at").first()


def latest_version(*, plugin: Plugin) -> PluginVersion | None:
    return plugin.versions.order_by("-created_at").first()


def findings_by_severity(*, run: ValidationRun) -> dict[str, list]:
    grouped: dict[str, list] = {"error": [], "warning": [], "info": []}
    for finding in run.findings.all():
        grouped.setdefault(finding.severity, []).append(finding)
    return grouped


def review_queue() -> QuerySet[Plugin]:
    return (
        Plugin.objects.filter(review_state=ReviewState.PENDING)
        .select_related("organization", "candidate_version")
        .order_by("updated_at")
    )
