"""Reads about plugins. Tenant visibility rules live here and nowhere else:

- the storefront lists public plugins with a published version (approved, or approved with a
  newer candidate in review: the published version stays up meanwhile), showing and searching
  the reviewed listing (`listed_*`), never a newer unreviewed version's text;
- an unlisted approved plugin is reachable only through its unguessable public link, never
  listed and never by its integer id;
- everything else is visible only to its publisher organization.
"""

from __future__ import annotations

import contextlib
import hashlib
import re

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Case, F, FloatField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.http import Http404
from django.urls import reverse

from accounts.models import Organization
from plugins.models import (
    LARGE_VERSION_FIELDS,
    PUBLISHED_STATES,
    Plugin,
    PluginVersion,
    ReviewState,
    ValidationRun,
    ValidationState,
    Visibility,
)

_PUBLISHED = Q(review_state__in=PUBLISHED_STATES, published_version__isnull=False)
_LISTED = Q(_PUBLISHED, visibility=Visibility.PUBLIC)
MAX_QUERY_CHARS = 100
_MAX_TERMS = 8
_WORD = re.compile(r"[^\W_]+")


def search_terms(query: str) -> list[str]:
    """The words of a search, lower-cased: letters and digits only (nothing else reaches a
    tsquery, so no input can change its syntax)."""
    return _WORD.findall((query or "")[:MAX_QUERY_CHARS].lower())[:_MAX_TERMS]


def _substring_match(terms: list[str], *, listed: bool) -> tuple[Q, Case]:
    """Every word as a substring of the name, name_for_model or description: the reviewed
    listing, or the publisher's working copy. With a rank: a name match first."""
    name, description = ("listed_name", "listed_description") if listed else ("name", "description")
    match = Q()
    for term in terms:
        match &= (
            Q(**{f"{name}__icontains": term})
            | Q(name_for_model__icontains=term)
            | Q(**{f"{description}__icontains": term})
        )
    rank = Case(
        When(**{f"{name}__icontains": terms[0]}, then=Value(1.0)),
        When(name_for_model__icontains=terms[0], then=Value(0.4)),
        default=Value(0.2),
        output_field=FloatField(),
    )
    return match, rank


def _listing_match(terms: list[str]) -> tuple[Q, object]:
    """The reviewed listing matching every word (the last one as a prefix, for
    search-as-you-type), and its rank. On PostgreSQL: the weighted `search_vector` (listed name
    over name_for_model over listed description, GIN-indexed); elsewhere, substrings."""
    if connection.vendor != "postgresql":
        return _substring_match(terms, listed=True)
    text = " & ".join([*terms[:-1], f"{terms[-1]}:*"])
    tsquery = SearchQuery(text, search_type="raw", config="english")
    return Q(search_vector=tsquery), SearchRank(F("search_vector"), tsquery)


def search(queryset: QuerySet[Plugin], query: str) -> QuerySet[Plugin]:
    """Listed plugins matching `query`, annotated with `rank` (see _listing_match).
    description_for_model is never searched."""
    terms = search_terms(query)
    if not terms:
        return queryset
    match, rank = _listing_match(terms)
    return queryset.filter(match).annotate(rank=rank)


def _ordered(queryset: QuerySet[Plugin], query: str, *default: str) -> QuerySet[Plugin]:
    if search_terms(query):
        return queryset.order_by("-rank", *default)
    return queryset.order_by(*default)


# Version columns a listing never needs (documents and images can be megabytes each).
_LARGE_VERSION_FIELDS = [f"published_version__{name}" for name in LARGE_VERSION_FIELDS]
_CARD_DEFERRED = ["search_vector", *_LARGE_VERSION_FIELDS, "published_version__diff"]


def storefront_plugins(*, query: str = "") -> QuerySet[Plugin]:
    """Listed plugins: most recently updated first, or best match first for a search."""
    listed = Plugin.objects.filter(_LISTED)
    return _ordered(
        search(listed, query)
        .select_related("organization", "published_version")
        .defer(*_CARD_DEFERRED, "published_version__operations"),
        query,
        "-updated_at",
        "-id",
    )


RECENT_CACHE_KEY = "catalog:recently-published:v1"
RECENT_CACHE_SECONDS = 60
RECENT_MAX = 24


def recently_published(*, limit: int = 12) -> list[Plugin]:
    """The newest listed plugins (at most RECENT_MAX), cached for a minute and forgotten
    whenever the listing changes (forget_catalog_caches)."""
    cached = cache.get(RECENT_CACHE_KEY)
    if cached is None:
        cached = list(storefront_plugins()[:RECENT_MAX])
        cache.set(RECENT_CACHE_KEY, cached, RECENT_CACHE_SECONDS)
    return cached[: min(limit, RECENT_MAX)]


GENERATION_CACHE_KEY = "catalog:generation:v1"
STOREFRONT_CACHE_SECONDS = 60


def storefront_cache_key(*, query: str, page: str) -> str:
    """Names one rendered storefront page (search text and page number) in the current
    generation of the catalog: forget_catalog_caches starts a new one."""
    generation = cache.get_or_set(GENERATION_CACHE_KEY, 1, None)
    digest = hashlib.sha256(query.encode()).hexdigest()[:24]
    return f"{generation}:{digest}:{page[:8]}"


def catalog_changed() -> None:
    """Call when what the storefront lists changes: the cached listings are forgotten now, and
    again once the transaction commits (a page rendered in between would show the old state)."""
    forget_catalog_caches()
    transaction.on_commit(forget_catalog_caches)


def forget_catalog_caches() -> None:
    cache.delete(RECENT_CACHE_KEY)
    with contextlib.suppress(ValueError):  # not set yet: nothing is cached under it either
        cache.incr(GENERATION_CACHE_KEY)


def published_plugin_or_404(*, public_id: str, with_logo: bool = False) -> Plugin:
    """A published public or unlisted plugin by its unguessable public id, with its published
    version's display columns (and the logo's bytes only when asked)."""
    deferred = [f for f in _CARD_DEFERRED if not (with_logo and f.endswith("__logo"))]
    plugin = (
        Plugin.objects.filter(_PUBLISHED, public_id=public_id)
        .filter(visibility__in=[Visibility.PUBLIC, Visibility.UNLISTED])
        .select_related("organization", "published_version")
        .defer(*deferred)
        .first()
    )
    if plugin is None:
        raise Http404
    return plugin


def plugins_visible_to(*, organization: Organization, query: str = "") -> QuerySet[Plugin]:
    """Published public plugins plus all of the organization's own."""
    own = Q(organization=organization)
    listed = _LISTED & ~own
    terms = search_terms(query)
    visible = Plugin.objects.all()
    if terms:
        own_match, own_rank = _substring_match(terms, listed=False)  # a few rows: no index
        listed_match, listed_rank = _listing_match(terms)
        own &= own_match
        listed &= listed_match
        visible = visible.annotate(
            rank=Case(
                When(organization=organization, then=own_rank),
                default=listed_rank,
                output_field=FloatField(),
            )
        )
    return _ordered(
        visible.filter(own | listed)
        .select_related("organization", "published_version")
        .defer("search_vector", *_LARGE_VERSION_FIELDS),
        query,
        "name",
        "pk",
    )


def plugin_visible_to_or_none(*, organization: Organization, plugin_id: int) -> Plugin | None:
    return (
        Plugin.objects.filter(pk=plugin_id)
        .filter(Q(organization=organization) | _LISTED)
        .select_related("organization", "published_version")
        .defer("search_vector", *_LARGE_VERSION_FIELDS)
        .first()
    )


def publisher_plugins(*, organization: Organization, archived: bool = False) -> QuerySet[Plugin]:
    """The organization's plugins (the archived ones instead with `archived`), each with
    `latest_validation` (its newest version's state)."""
    newest = PluginVersion.objects.filter(plugin=OuterRef("pk")).order_by("-created_at")
    return (
        Plugin.objects.filter(organization=organization, archived_at__isnull=not archived)
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
