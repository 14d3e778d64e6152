"""The API's plugin list as plain dicts, read with one `values()` query.

A list page is 50 to 200 plugins: building them through `PluginOutput` (model instances, then a
serializer field by field) cost most of the request. The rows here have the same shape and the
same values as `PluginOutput` (which stays the documented schema and serves the detail
endpoint); `tests/plugins/test_api_list.py` holds the two to each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, QuerySet, Window
from django.urls import reverse
from django.utils import timezone

from plugins import selectors
from plugins.listing import vetted_link
from plugins.models import PUBLISHED_STATES, Visibility

_VERSION = "published_version__"
_VERSION_FIELDS = (
    "number",
    "source_kind",
    "manifest_url",
    "openapi_url",
    "origin",
    "content_sha256",
    "validation_state",
    "created_at",
    "validated_at",
    "diff",
    "operations",
)
FIELDS = (
    "id",
    "public_id",
    "organization_id",
    "organization__slug",
    "organization__name",
    "slug",
    "name",
    "listed_name",
    "name_for_model",
    "description",
    "listed_description",
    "logo_url",
    "listed_logo_url",
    "origin",
    "visibility",
    "requested_visibility",
    "review_state",
    "published_version_id",
    "created_at",
    "updated_at",
    *(_VERSION + name for name in _VERSION_FIELDS),
)


class _Times:
    """DRF's DateTimeField output (ISO 8601 in the current time zone, UTC as `Z`), without
    looking the time zone up again for each of a page's hundreds of timestamps."""

    def __init__(self):
        self._zone = timezone.get_current_timezone()

    def __call__(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        text = value.astimezone(self._zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text


class _PublicUrls:
    """Storefront links by public id: the URL is reversed once per page, not once per row."""

    _MARK = "public-id-mark"

    def __init__(self, request):
        url = reverse("storefront-plugin", args=[self._MARK])
        if request is not None:
            url = request.build_absolute_uri(url)
        self._before, _, self._after = url.partition(self._MARK)

    def __call__(self, public_id: str) -> str:
        return f"{self._before}{public_id}{self._after}"


def plugin_rows(queryset: QuerySet, *, organization, request) -> list[dict]:
    """The plugins of `queryset` (already ordered and sliced) as `PluginOutput` shows them to
    `organization`: its own plugins with its working copy, others with the reviewed listing."""
    return _rows(queryset.values(*FIELDS), organization, request)


def _rows(values: Iterable[dict], organization, request) -> list[dict]:
    public_url, when = _PublicUrls(request), _Times()
    own = organization.pk if organization is not None else None
    return [_row(row, own, public_url, when) for row in values]


def page_fetcher(*, organization, query: str, request):
    """`fetch(offset, limit)` for marketplace.pagination.paged_response: the page's rows and
    their total from one query. A search counts its matches (at most SEARCH_MAX_RESULTS) in
    the query that ranks them (a window count: they are all ranked anyway); the list adds the
    listed plugins' count, cached for the catalog's generation, to the caller's own unlisted
    plugins, counted by a subquery. Past the end, or before the listed plugins are counted in
    this generation, the total is left to the count query."""
    plugins = selectors.plugins_visible_to(organization=organization, query=query)
    if selectors.search_terms(query):
        cap, listed = selectors.SEARCH_MAX_RESULTS, 0
        plugins = plugins.annotate(total=Window(Count("pk")))[:cap]
    else:
        cap, listed = None, selectors.cached_listed_count()
        if listed is not None:
            own = selectors.own_unlisted_count(organization=organization)
            plugins = plugins.annotate(total=own)

    def fetch(offset: int, limit: int) -> tuple[list[dict], int | None]:
        counted = listed is not None
        page = plugins[offset : offset + limit]
        values = list(page.values(*FIELDS, "total") if counted else page.values(*FIELDS))
        total = None
        if counted and values:
            total = values[0]["total"] + listed
            total = min(total, cap) if cap else total
        return _rows(values, organization, request), total

    return fetch


def _row(row: dict, own: int | None, public_url: _PublicUrls, when: _Times) -> dict:
    publisher = row["organization_id"] == own
    published = row["published_version_id"] is not None
    if publisher:
        name, description = row["name"], row["description"]
        logo = vetted_link(row["logo_url"]) or None
    else:
        name, description = row["listed_name"] or row["name"], row["listed_description"]
        logo = row["listed_logo_url"] or None  # vetted when the listing was approved
    listed = published and row["review_state"] in PUBLISHED_STATES
    return {
        "id": row["id"],
        "slug": row["slug"],
        "name": name,
        "name_for_model": row["name_for_model"],
        "description": description,
        "logo_url": logo,
        "origin": row["origin"],
        "visibility": row["visibility"],
        "requested_visibility": row["requested_visibility"],
        "review_state": row["review_state"],
        "publisher": {"slug": row["organization__slug"], "name": row["organization__name"]},
        "published_version": _version(row, when) if published else None,
        "public_url": public_url(row["public_id"])
        if listed and row["visibility"] != Visibility.PRIVATE
        else None,
        "created_at": when(row["created_at"]),
        "updated_at": when(row["updated_at"]),
    }


def _version(row: dict, when: _Times) -> dict:
    return {
        "id": row["published_version_id"],
        "number": row[_VERSION + "number"],
        "source_kind": row[_VERSION + "source_kind"],
        "manifest_url": row[_VERSION + "manifest_url"],
        "openapi_url": row[_VERSION + "openapi_url"],
        "origin": row[_VERSION + "origin"],
        "content_sha256": row[_VERSION + "content_sha256"],
        "validation_state": row[_VERSION + "validation_state"],
        "created_at": when(row[_VERSION + "created_at"]),
        "validated_at": when(row[_VERSION + "validated_at"]),
        "diff": row[_VERSION + "diff"],
        "operations": _operation_names(row[_VERSION + "operations"]),
    }


def _operation_names(operations: Iterable[dict] | None) -> list[str]:
    return [op["name"] for op in operations or []]
