"""Site-wide pages: home, health probes, error pages."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.templatetags.static import static
from django.utils.functional import SimpleLazyObject

from marketplace.limits import client_error
from marketplace.middleware import is_api_request

logger = logging.getLogger(__name__)


def home(request):
    from plugins import selectors

    return render(
        request,
        "home.html",
        {
            # Evaluated only when the cached fragment has to be rendered afresh.
            "plugins": SimpleLazyObject(lambda: selectors.recently_published(limit=12)),
            "generation": selectors.catalog_generation(),
            "cache_seconds": selectors.RECENT_CACHE_SECONDS,
        },
    )


async def healthz(request):
    """The process is up and serving requests (async: no thread hop; the proxy benchmark's
    floor)."""
    return HttpResponse("ok", content_type="text/plain")


def readyz(request):
    """The database and the Celery broker are reachable; 503 otherwise."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    status = 200 if all(checks.values()) else 503
    return JsonResponse({"ready": status == 200, "checks": checks}, status=status)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("readiness: database unreachable", exc_info=True)
        return False


def _broker_ok() -> bool:
    from marketplace.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.warning("readiness: broker unreachable", exc_info=True)
        return False


def bad_request(request, exception=None):
    return client_error(request, 400, "bad_request", "The request could not be understood.")


def not_found(request, exception=None):
    if is_api_request(request):
        return JsonResponse({"error": {"code": "not_found", "message": "Not found."}}, status=404)
    return render(request, "errors/404.html", status=404)


def permission_denied(request, exception=None):
    """403 with the reason when our code gave one ("This needs the Developer role or above.")."""
    reason = str(exception) if isinstance(exception, PermissionDenied) else ""
    if is_api_request(request):
        return JsonResponse(
            {"error": {"code": "permission_denied", "message": reason or "Not allowed."}},
            status=403,
        )
    return render(request, "errors/403.html", {"reason": reason}, status=403)


def csrf_failure(request, reason=""):
    """A form posted without a valid CSRF token: usually a page left open too long."""
    return render(
        request,
        "errors/403.html",
        {
            "title": "This form has expired",
            "reason": "Go back, reload the page and try again. (Your browser must accept "
            "cookies from this site.)",
        },
        status=403,
    )


def server_error(request):
    if is_api_request(request):
        return JsonResponse(
            {"error": {"code": "server_error", "message": "An internal error occurred."}},
            status=500,
        )
    # No request context: the page must render even when the database is what failed.
    return HttpResponse(loader.render_to_string("errors/500.html"), status=500)


def favicon(request):
    return HttpResponsePermanentRedirect(static("favicon.svg"))
