"""API requests get JSON 404/500 bodies instead of HTML pages, and never a traceback; static
files served by WhiteNoise. Both work in sync and async mode, so an async view (the proxy's call
endpoint) runs under ASGI without a thread hop per request."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import JsonResponse
from whitenoise.middleware import WhiteNoiseMiddleware

logger = logging.getLogger(__name__)


def is_api_request(request) -> bool:
    return request.path.startswith("/api/")


class StaticFilesMiddleware:
    """WhiteNoise for static paths only: other requests pass straight on, in either mode."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        self.whitenoise = WhiteNoiseMiddleware(
            async_to_sync(get_response) if self.is_async else get_response
        )
        self.prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        return self.whitenoise(request)

    async def _acall(self, request):
        if request.path_info.startswith(self.prefix):
            return await sync_to_async(self.whitenoise, thread_sensitive=False)(request)
        return await self.get_response(request)


class JsonErrorsForApiMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        return self._json_404(request, self.get_response(request))

    async def _acall(self, request):
        return self._json_404(request, await self.get_response(request))

    def _json_404(self, request, response):
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
