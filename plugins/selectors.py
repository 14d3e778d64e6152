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
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import reverse

from accounts.models import Organization
from plugins import presentation
from plugins.listing import vetted_link
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


def catalog_generation() -> int:
    """The catalog's current generation: what is cached under it is forgotten when
    forget_catalog_caches starts a new one."""
    return cache.get_or_set(GENERATION_CACHE_KEY, 1, None)


def storefront_cache_key(*, query: str, page: str) -> str:
    """Names one rendered storefront page (search text and page number) in the current
    generation of the catalog."""
    generation = catalog_generation()
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


def _published_by_public_id(public_id: str) -> QuerySet[Plugin]:
    return (
        Plugin.objects.filter(_PUBLISHED, public_id=public_id)
        .filter(visibility__in=[Visibility.PUBLIC, Visibility.UNLISTED])
        .select_related("organization", "published_version")
    )


def published_plugin_or_404(*, public_id: str, with_logo: bool = False) -> Plugin:
    """A published public or unlisted plugin by its unguessable public id, with its published
    version's display columns (and the logo's bytes only when asked)."""
    deferred = [f for f in _CARD_DEFERRED if not (with_logo and f.endswith("__logo"))]
    plugin = _published_by_public_id(public_id).defer(*deferred).first()
    if plugin is None:
        raise Http404
    return plugin


# What the plugin page reads of a plugin; the rest comes from caches (PAGE_CACHE_SECONDS).
_PAGE_FIELDS = (
    "public_id",
    "organization__name",
    "listed_name",
    "listed_description",
    "visibility",
    "review_state",
    "reviewed_at",
    "published_version__number",
    "published_version__logo_content_type",
    "published_version__validated_at",
)


PAGE_PLUGIN_CACHE_SECONDS = 60


def plugin_page_or_404(*, public_id: str, generation: int, fresh: bool = False) -> Plugin:
    """published_plugin_or_404 for the plugin's page: only the columns it shows, and
    `run_summary`, the summary of the published version's latest validation run.

    Cached for a minute in the catalog's `generation` (catalog_generation()): a change to the
    listing (a new version, a decision, a visibility) shows at once, a re-validation's summary
    or a renamed publisher within a minute, like the storefront's cached pages. `fresh` reads
    it anew (and caches that): for a page that is itself cached for a minute."""
    digest = hashlib.sha256(public_id.encode()).hexdigest()[:32]
    key = f"plugin-page:plugin:v1:{generation}:{digest}"
    plugin = None if fresh else cache.get(key)
    if plugin is None:
        latest = ValidationRun.objects.filter(version=OuterRef("published_version_id"))
        plugin = (
            _published_by_public_id(public_id)
            .only(*_PAGE_FIELDS)
            .annotate(run_summary=Subquery(latest.order_by("-created_at").values("summary")[:1]))
            .first()
        )
        if plugin is None:
            raise Http404
        cache.set(key, plugin, PAGE_PLUGIN_CACHE_SECONDS)
    return plugin


PAGE_CACHE_SECONDS = 24 * 60 * 60


def version_facts(*, version: PluginVersion) -> dict:
    """presentation.version_facts of a validated version, its legal link vetted. Cached by
    version id (a validated version's documents never change): a page served from the cache
    never reads the document column."""
    key = f"plugin-page:facts:v1:{version.pk}"
    facts = cache.get(key)
    if facts is None:
        facts = presentation.version_facts(version.normalized or {})
        facts["legal_url"] = vetted_link(facts.pop("legal_info_url"))
        if version.validated_at is not None:
            cache.set(key, facts, PAGE_CACHE_SECONDS)
    return facts


def _matches_as_seen_by(terms: list[str], organization: Organization):
    """(own match, own rank, others' match, others' rank): the organization's own plugins by
    their working copy (substrings: a few rows, no index), everyone else's by the reviewed
    listing (_listing_match)."""
    return (*_substring_match(terms, listed=False), *_listing_match(terms))


def plugins_matching(*, organization: Organization, query: str) -> QuerySet[Plugin] | None:
    """The plugins the catalogue's search for `query` finds as `organization` sees them (its
    own by their working copy, others' by their reviewed listing), whatever their visibility:
    for plugins reached another way (installed ones) that a search filters the same way the
    catalogue does. None when `query` holds no word (search_terms): nothing to filter."""
    terms = search_terms(query)
    if not terms:
        return None
    own_match, _, listed_match, _ = _matches_as_seen_by(terms, organization)
    own = Q(organization=organization)
    return Plugin.objects.filter((own & own_match) | (~own & listed_match))


def plugins_visible_to(*, organization: Organization, query: str = "") -> QuerySet[Plugin]:
    """Published public plugins plus all of the organization's own."""
    own = Q(organization=organization)
    listed = _LISTED & ~own
    terms = search_terms(query)
    visible = Plugin.objects.all()
    if terms:
        own_match, own_rank, listed_match, listed_rank = _matches_as_seen_by(terms, organization)
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


LISTED_COUNT_CACHE_KEY = "catalog:listed-count:v1"  # (generation, count)
LISTED_COUNT_CACHE_SECONDS = 60
SEARCH_MAX_RESULTS = 1000


def count_visible_to(*, organization: Organization, query: str = "") -> int:
    """How many plugins `plugins_visible_to` lists (a search: at most SEARCH_MAX_RESULTS).

    Without a search, the listed plugins' count is kept in the cache for the catalog's
    generation (forget_catalog_caches starts a new one; a minute at most): only the caller's
    own unlisted plugins are counted per request, off the organization index."""
    own = Q(organization=organization)
    if search_terms(query):
        matching = plugins_visible_to(organization=organization, query=query)
        return matching.order_by().values("pk")[:SEARCH_MAX_RESULTS].count()
    generation, listed = _listed_count_state()
    if listed is None:
        counts = Plugin.objects.filter(own | _LISTED).aggregate(
            listed=Count("pk", filter=_LISTED), own=Count("pk", filter=own & ~_LISTED)
        )
        cache.set(
            LISTED_COUNT_CACHE_KEY, (generation, counts["listed"]), LISTED_COUNT_CACHE_SECONDS
        )
        return counts["listed"] + counts["own"]
    return listed + Plugin.objects.filter(own).exclude(_LISTED).count()


def cached_listed_count() -> int | None:
    """How many plugins are listed, as counted in this catalog generation (None: not yet)."""
    return _listed_count_state()[1]


def _listed_count_state() -> tuple[int, int | None]:
    return cached_in_generation(LISTED_COUNT_CACHE_KEY)


def cached_in_generation(key: str) -> tuple[int, object | None]:
    """(the catalog's current generation, what is cached under `key` for it, or None), in one
    round trip to the cache. What is stored under `key` is a pair (the generation it was
    computed in, the value): a value from an older generation reads as None."""
    cached = cache.get_many([GENERATION_CACHE_KEY, key])
    generation = cached.get(GENERATION_CACHE_KEY)
    if generation is None:
        generation = catalog_generation()
    computed_in, value = cached.get(key, (None, None))
    return generation, value if computed_in == generation else None


def own_unlisted_count(*, organization: Organization) -> Coalesce:
    """An expression (a scalar subquery, evaluated once per query): how many of the
    organization's plugins are not listed. With cached_listed_count, the total of
    plugins_visible_to without a search."""
    counted = (
        Plugin.objects.filter(organization=organization)
        .exclude(_LISTED)
        .order_by()
        .values("organization")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


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
