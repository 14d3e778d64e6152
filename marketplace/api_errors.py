"""Uniform JSON error bodies for the REST API: `{"error": {"code", "message", ...}}`."""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.views import exception_handler


class ErrorOutput(serializers.Serializer):
    """The body of every API error."""

    class ErrorBody(serializers.Serializer):
        code = serializers.CharField()
        message = serializers.CharField()
        fields = serializers.DictField(required=False, help_text="Per-field problems, if any.")

    error = ErrorBody()


class UnknownParameter(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "unknown_parameter"
    default_detail = "Unknown query parameter."


def refuse_unknown_parameters(request: Request, allowed: Iterable[str]) -> None:
    """A filter the endpoint doesn't know is refused, not silently ignored."""
    allowed = set(allowed)
    unknown = sorted(name for name in request.query_params if name not in allowed)
    if unknown:
        raise UnknownParameter(
            f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"This endpoint accepts: {', '.join(sorted(allowed))}.",
            code="unknown_parameter",
        )


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
