"""List endpoints return a plain JSON array and page with `?limit=&offset=`.

The total goes in `X-Total-Count` and the neighbouring pages in an RFC 8288 `Link` header, so a
client that ignores paging still gets a valid first page.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

PAGE_PARAMETER_NAMES = ("limit", "offset")
PAGE_PARAMETERS = [
    OpenApiParameter(
        "limit", int, description=f"Items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})."
    ),
    OpenApiParameter("offset", int, description="Items to skip."),
]


def _int_param(request: Request, name: str, default: int, maximum: int | None = None) -> int:
    try:
        value = int(request.query_params.get(name, default))
    except ValueError:
        value = default
    value = max(value, 0)
    return min(value, maximum) if maximum is not None else value


def paginated_response(request: Request, queryset: QuerySet, serialize) -> Response:
    limit = _int_param(request, "limit", DEFAULT_LIMIT, MAX_LIMIT) or DEFAULT_LIMIT
    offset = _int_param(request, "offset", 0)
    total = queryset.count()
    page = queryset[offset : offset + limit]
    response = Response(serialize(page))
    response["X-Total-Count"] = str(total)
    url = request.build_absolute_uri()
    links = []
    if offset + limit < total:
        links.append(f'<{_page_url(url, limit, offset + limit)}>; rel="next"')
    if offset > 0:
        links.append(f'<{_page_url(url, limit, max(offset - limit, 0))}>; rel="prev"')
    if links:
        response["Link"] = ", ".join(links)
    return response


def _page_url(url: str, limit: int, offset: int) -> str:
    url = replace_query_param(url, "limit", limit)
    return (
        replace_query_param(url, "offset", offset) if offset else remove_query_param(url, "offset")
    )
