"""Uniform JSON error bodies for the REST API: `{"error": {"code", "message", ...}}`."""

from __future__ import annotations

import math
from collections.abc import Iterable

from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.views import exception_handler


@extend_schema_serializer(component_name="Error")
class ErrorOutput(serializers.Serializer):
    """Every error the API answers, whatever its status."""

    @extend_schema_serializer(component_name="ErrorDetail")
    class ErrorDetail(serializers.Serializer):
        code = serializers.CharField(help_text="Stable, machine-readable.")
        message = serializers.CharField(help_text="For people.")
        fields = serializers.DictField(
            required=False, help_text="Per-field problems of an invalid request."
        )
        retry_after = serializers.IntegerField(
            required=False, help_text="Seconds to wait before trying again (429 only)."
        )

    error = ErrorDetail()


THROTTLED_RESPONSE = OpenApiResponse(
    ErrorOutput, description="Too many requests: wait for the seconds in Retry-After."
)


def error_body(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


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
        body = error_body("invalid", "The request is invalid.", fields=response.data)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        body = error_body(getattr(detail, "code", code) or code, str(detail))
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["error"]["retry_after"] = math.ceil(exc.wait)
    response.data = body
    return response
