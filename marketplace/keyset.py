"""Links for pages listed by keyset (a cursor of the last row seen) rather than by offset."""

from __future__ import annotations

from urllib.parse import quote

from django.http import HttpRequest


def keyset_links(request: HttpRequest, next_cursor: str | None) -> dict:
    """Template context for a keyset-paged list: the next page's link (same filters, the new
    cursor), whether this is the first page, and the filters alone (for a CSV of the same)."""
    query = request.GET.copy()
    query.pop("before", None)
    return {
        "next_url": f"?{query.urlencode()}&before={quote(next_cursor)}" if next_cursor else None,
        "is_first_page": not request.GET.get("before"),
        "filter_query": query.urlencode(),
    }
