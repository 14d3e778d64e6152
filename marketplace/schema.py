"""The API schema class: every operation documents the errors it can answer.

drf-spectacular documents what a view declares; the errors that come from the layers around
it (the token check, the role check, the tenancy gate, input validation, request limits) are
added here once, each with the uniform error body, so a client (or a fuzzer) never meets a
status the schema doesn't mention.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.permissions import AllowAny

from marketplace.api_errors import ErrorOutput

_DESCRIPTIONS = {
    "400": "The request is invalid: a parameter or the body (see `error.fields`).",
    "401": "No token, or an invalid, expired or revoked one.",
    "403": "The token's role is too weak for this operation.",
    "404": "Not found, or not the caller's (the same answer for both).",
    "405": "The method is not allowed on this path.",
    "406": "None of the accepted media types can be produced (the API answers JSON).",
    "413": "The request body is too large.",
    "415": "The body's media type is not accepted here.",
}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorOutput, description=_DESCRIPTIONS[code]),
                    code,
                    direction=direction,
                )
        return responses

    def _error_codes(self) -> list[str]:
        codes = ["406"]
        authenticated = not any(
            isinstance(permission, AllowAny) for permission in self.view.get_permissions()
        )
        if authenticated:
            codes += ["401", "403"]
        if "{" in self.path:
            codes.append("404")
        has_query = any(
            isinstance(p, OpenApiParameter) and p.location == OpenApiParameter.QUERY
            for p in self.get_override_parameters()
        )
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["400", "413", "415"]
        elif has_query:
            codes.append("400")
        return codes
