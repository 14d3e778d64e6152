"""The site's own 403/404/500 pages for visitors even while DEBUG is on (`make run`)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import Resolver404, get_resolver

from marketplace.middleware import is_api_request
from marketplace.views import not_found, permission_denied, server_error

logger = logging.getLogger("django.request")


class FriendlyErrorPagesMiddleware:
    """With DEBUG on, Django answers unknown URLs and Http404/PermissionDenied with its
    technical pages (the URL patterns, settings, a traceback). A visitor of `make run` gets the
    site's pages instead; a server error is logged with its traceback (the terminal running
    `make run`) and answered with the friendly 500, unless a developer opts in to Django's
    technical page with MARKETPLACE_DEBUG_TECHNICAL_500. With DEBUG off this does nothing:
    handler403/404/500 in marketplace.urls already apply."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.DEBUG and not is_api_request(request) and self._unknown(request):
            return not_found(request)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not settings.DEBUG or is_api_request(request):
            return None
        if isinstance(exception, Http404):
            return not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return permission_denied(request, exception)
        if getattr(settings, "MARKETPLACE_DEBUG_TECHNICAL_500", False):
            return None
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"status_code": 500, "request": request},
        )
        return server_error(request)

    @staticmethod
    def _unknown(request) -> bool:
        resolver = get_resolver(getattr(request, "urlconf", None))
        path = request.path_info
        candidates = [path]
        if settings.APPEND_SLASH and not path.endswith("/"):
            candidates.append(path + "/")  # CommonMiddleware will redirect there
        for candidate in candidates:
            try:
                resolver.resolve(candidate)
            except Resolver404:
                continue
            return False
        return True
