"""Uniform JSON error bodies for the REST API: `{"error": {"code", "message", ...}}`."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected errors reach the JSON 500 handler in marketplace.middleware
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.ValidationError):
        body = {
            "error": {
                "code": "invalid",
                "message": "The request is invalid.",
                "fields": response.data,
            }
        }
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        body = {"error": {"code": getattr(detail, "code", code) or code, "message": str(detail)}}
    response.data = body
    return response
