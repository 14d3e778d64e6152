"""Error answers: JSON 404/500 bodies for the API (never a traceback), and the site's own
403/404 pages for visitors even while DEBUG is on (`make run`)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.urls import Resolver404, get_resolver

logger = logging.getLogger(__name__)


def is_api_request(request) -> bool:
    return request.path.startswith("/api/")


class JsonErrorsForApiMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            is_api_request(request)
            and response.status_code == 404
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return JsonResponse(
                {"error": {"code": "not_found", "message": "Not found."}}, status=404
            )
        return response

    def process_exception(self, request, exception):
        if not is_api_request(request):
            return None
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return JsonResponse(
            {"error": {"code": "server_error", "message": "An internal error occurred."}},
            status=500,
        )


class FriendlyErrorPagesMiddleware:
    """With DEBUG on, Django answers unknown URLs and Http404/PermissionDenied with its
    technical pages (the URL patterns, settings). A visitor of `make run` gets the site's pages
    instead; server errors keep the technical page a developer needs. With DEBUG off this
    does nothing: handler403/handler404 in marketplace.urls already apply."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.DEBUG and not is_api_request(request) and self._unknown(request):
            from marketplace.views import not_found

            return not_found(request)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not settings.DEBUG or is_api_request(request):
            return None
        from marketplace.views import not_found, permission_denied

        if isinstance(exception, Http404):
            return not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return permission_denied(request, exception)
        return None

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
