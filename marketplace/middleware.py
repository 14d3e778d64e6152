"""API requests get JSON 404/500 bodies instead of HTML pages, and never a traceback."""

from __future__ import annotations

import logging

from django.http import JsonResponse

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
