"""Whole storefront pages for anonymous visitors, cached in the catalog's generation.

Visitors without a session see the same page but for one thing: their CSRF token (base.html
hands it to htmx). So such a page is rendered once with a random marker in the token's place
and stored in pieces around the marker; each visitor gets the pieces joined with their own
token (`get_token`: their own cookie's secret, freshly masked), exactly as a fresh render
would give them. The pieces are stored with the catalog generation they were rendered in
(`selectors.cached_in_generation`, one round trip to the cache): a change to the listing (a
new version, a decision, a narrower visibility; `selectors.catalog_changed`) is seen at once,
anything else the page shows is at most `seconds` old, like the caches it is rendered from.

Never from this cache, never into it:
- a visitor with a session or with messages waiting (a session cookie or a messages cookie):
  signed-in members see their organizations and their install buttons, anyone may have a
  message to read;
- a page rendered with a CSP nonce (it must not reach another visitor), with cookies or
  headers of its own, or that is not a plain 200 (a 404 is not cached).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token

from plugins import selectors

KEY_PREFIX = "visitor-page:v1"


def is_plain_visitor(request: HttpRequest) -> bool:
    """A GET by someone with no session and no message waiting (so not signed in)."""
    return (
        request.method == "GET"
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and CookieStorage.cookie_name not in request.COOKIES
        and not request.user.is_authenticated
    )


def cache_key(*, page: str, key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}:{page}:{digest}"


def serve(
    request: HttpRequest,
    *,
    page: str,
    key: str,
    seconds: int,
    render: Callable[[dict, bool], HttpResponse],
) -> HttpResponse:
    """The response `render(extra_context, shared)` gives, from the cache for a plain visitor.

    `page` and `key` name the page: everything its HTML depends on for a visitor without a
    session (the path, the search and page number) must be in `key`. `shared` is true when
    the page is rendered for the cache: it will be served for up to `seconds`, so what it
    shows should be read afresh rather than from caches of its own with the same lifetime."""
    if not is_plain_visitor(request):
        return render({}, False)
    name = cache_key(page=page, key=key)
    generation, pieces = selectors.cached_in_generation(name)
    if pieces is not None:
        return HttpResponse(get_token(request).encode().join(pieces))
    marker = secrets.token_hex(16)
    response = render({"csrf_token": marker}, True)
    if response.streaming:  # not a page this serves: rendered afresh for each visitor
        raise TypeError(f"{page}: a streaming response can't be served from this cache")
    pieces = response.content.split(marker.encode())
    response.content = get_token(request).encode().join(pieces)
    if _shareable(request, response):
        cache.set(name, (generation, pieces), seconds)
    return response


def _shareable(request: HttpRequest, response: HttpResponse) -> bool:
    return (
        response.status_code == 200
        and not response.cookies
        and set(response.headers) == {"Content-Type"}
        and response["Content-Type"] == "text/html; charset=utf-8"
        and not getattr(request, "csp_nonce", None)  # django-csp: true once a nonce was made
    )
