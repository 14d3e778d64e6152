"""List endpoints return a plain JSON array and page with `?limit=&offset=`.

The total goes in `X-Total-Count` and the neighbouring pages in an RFC 8288 `Link` header, so a
client that ignores paging still gets a valid first page.
"""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_OFFSET = 1_000_000  # far past any real listing; keeps the SQL OFFSET a small integer

PAGE_PARAMETER_NAMES = ("limit", "offset")
PAGE_PARAMETERS = [
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        description=f"Items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}).",
    ),
    OpenApiParameter(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
        description="Items to skip.",
    ),
]


def page_headers(total: str = "How many items the list has.") -> list[OpenApiParameter]:
    """The response headers of a paged list, for its schema (`total` says what is counted)."""
    return [
        OpenApiParameter(
            "X-Total-Count", int, OpenApiParameter.HEADER, response=[200], description=total
        ),
        OpenApiParameter(
            "Link",
            str,
            OpenApiParameter.HEADER,
            response=[200],
            description='RFC 8288 links to the neighbouring pages (rel="next", rel="prev").',
        ),
    ]


def _int_param(request: Request, name: str, default: int, minimum: int, maximum: int) -> int:
    """The parameter as an integer in [minimum, maximum]; anything else (a word, `null`, a
    sign, a number out of range) is the client's mistake, answered 400 rather than guessed."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if (
        not (raw.isascii() and raw.isdigit())
        or len(raw) > len(str(maximum))
        or not (minimum <= int(raw) <= maximum)
    ):
        raise ValidationError({name: [f"Must be an integer from {minimum} to {maximum}."]})
    return int(raw)


def paged_response(
    request: Request,
    fetch: Callable[[int, int], tuple[list, int | None]],
    count: Callable[[], int],
) -> Response:
    """The page the request asks for: `fetch(offset, limit)` gives its items and, when it
    could tell at no cost, the total; otherwise `count()` gives it (X-Total-Count)."""
    limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0, MAX_OFFSET)
    items, total = fetch(offset, limit)
    if total is None:
        total = count()
    response = Response(items)
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
