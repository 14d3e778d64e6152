"""Request limits: a client's oversized or malformed request gets a 4xx, never a 500.

Two layers, both before any view runs:

- `limit_request_body` wraps the ASGI application: a body over
  settings.MARKETPLACE_MAX_REQUEST_BYTES (declared in Content-Length, or counted while it
  streams in) is not read any further; the request reaches Django with an empty body and a mark.
- `RequestLimitsMiddleware`, first in MIDDLEWARE, answers the marked (or, under WSGI, declared
  too large) request 413, and parses form and multipart bodies itself so that too many fields
  or files (Django's DATA_UPLOAD_MAX_* settings) and malformed multipart answer 400, instead of
  surfacing later from the CSRF check or a view as an exception with a logged traceback.

JSON bodies on the API are read by `marketplace.parsers.BoundedJSONParser` (depth bound).
Answers are the uniform JSON error on /api/ and a friendly page elsewhere; the log gets one
warning line, never a traceback, because the mistake is the client's.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

from marketplace.middleware import is_api_request

logger = logging.getLogger(__name__)

BODY_TOO_LARGE = "marketplace.body_too_large"
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def limit_request_body(app):
    """ASGI middleware: stop reading a request body past the limit and mark the scope."""

    async def limited(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        limit = settings.MARKETPLACE_MAX_REQUEST_BYTES
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            scope[BODY_TOO_LARGE] = True
        received = 0
        cut = False

        async def bounded_receive():
            nonlocal received, cut
            if cut:
                # After the cut, only a disconnect matters; the rest of the body is discarded.
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return message
            if scope.get(BODY_TOO_LARGE):
                cut = True
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    scope[BODY_TOO_LARGE] = cut = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        return await app(scope, bounded_receive, send)

    return limited


def _declared_length(scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        refusal = self._check(request)
        if refusal is not None:
            status, code, message = refusal
            logger.warning("refused %s %s: %s (%s)", request.method, request.path, code, status)
            return client_error(request, status, code, message)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> tuple[int, str, str] | None:
        limit = settings.MARKETPLACE_MAX_REQUEST_BYTES
        scope = getattr(request, "scope", None) or {}
        if scope.get(BODY_TOO_LARGE) or _content_length(request) > limit:
            return 413, "request.too_large", f"The request body is larger than {limit} bytes."
        if request.method == "POST" and request.content_type in _FORM_TYPES:
            try:
                request.POST  # noqa: B018 - parse now, where a client's mistake is a 4xx
                request.FILES  # noqa: B018
            except RequestDataTooBig:
                return 413, "request.too_large", "The form data is too large."
            except TooManyFieldsSent:
                return 400, "request.too_many_fields", "The form has too many fields."
            except TooManyFilesSent:
                return 400, "request.too_many_files", "The form has too many files."
            except (MultiPartParserError, UnreadablePostError, ValueError):
                return 400, "request.malformed", "The form data can't be read."
        return None


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


TITLES = {400: "Bad request", 413: "Request too large", 429: "Please wait"}


def client_error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    """The uniform JSON error on the API, a friendly page on the web."""
    if is_api_request(request):
        return JsonResponse({"error": {"code": code, "message": message}}, status=status)
    return render(
        request,
        "errors/client_error.html",
        {"title": TITLES.get(status, "Bad request"), "message": message},
        status=status,
    )
