"""The proxy's HTTP faces: the call endpoint, the OpenAPI passthrough and its served spec, and
the caller-assertion public keys."""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import MethodNotAllowed, NotFound
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from accounts.tenancy import OrganizationAPIView
from marketplace.api_errors import ErrorOutput, error_body
from plugins.installations.actors import ON_BEHALF_OF, acting_member
from plugins.installations.api import installation_or_404
from plugins.installations.selectors import policy_of, toolset_of
from plugins.proxy.assertion import jwks
from plugins.proxy.call import call_operation
from plugins.proxy.errors import ProxyError
from plugins.proxy.ids import new_request_id
from plugins.proxy.passthrough import arguments_from_request, match_operation, served_spec
from plugins.proxy.pipeline import CallResult


class RawParser(BaseParser):
    """Leaves the body to the view: arguments are parsed with duplicate keys refused."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""


NO_BODY = frozenset({204, 205, 304})


def _respond(result: CallResult, *, raw: bool = False) -> Response:
    body = result.body
    status = result.http_status
    if raw and status == 200:
        # The passthrough answers like the plugin would: its status and data (or text).
        status = body["status"]
        body = body["data"] if body["data"] is not None else body["text"]
        if status in NO_BODY:
            body = None  # rendered as nothing, not as ""
    response = Response(body, status=status)
    for name, value in result.headers.items():
        response[name] = value
    return response


CALL_RESPONSE = inline_serializer(
    "CallAnswer",
    {
        "status": serializers.IntegerField(help_text="The plugin's HTTP status."),
        "data": serializers.JSONField(allow_null=True, help_text="Parsed JSON, filtered."),
        "text": serializers.CharField(help_text="What to give the model (clipped)."),
        "request_id": serializers.CharField(),
    },
)
CALL_ERROR = inline_serializer(
    "CallError",
    {
        "error": serializers.DictField(help_text="code, message, and violations / parameter"),
        "status": serializers.IntegerField(
            allow_null=True, required=False, help_text="The plugin's status, when it answered."
        ),
        "request_id": serializers.CharField(
            required=False, help_text="Present once the call reached the pipeline."
        ),
    },
)


class CallApi(OrganizationAPIView):
    """Call one operation of an installation for the calling member (or, with an organization
    key, the member named in X-On-Behalf-Of). Body: `{"arguments": {…}}`, the flat object the
    tool definitions describe. 422 lists every violation with its JSON pointer; 403 names a
    parameter whose value the member may not use; 429 carries Retry-After; upstream failures are
    502 (504 on timeout). `Server-Timing` reports the proxy's own time.

    This class carries the contract (schema, tenancy classification); the route is served by
    the async `plugins.proxy.fast.call_view`, which runs the same pipeline steps.
    """

    parser_classes = [RawParser]

    @extend_schema(
        request=inline_serializer("CallInput", {"arguments": serializers.DictField()}),
        parameters=[OpenApiParameter(ON_BEHALF_OF, str, OpenApiParameter.HEADER, required=False)],
        responses={
            200: CALL_RESPONSE,
            400: CALL_ERROR,
            403: CALL_ERROR,
            404: CALL_ERROR,
            409: CALL_ERROR,
            422: CALL_ERROR,
            424: CALL_ERROR,
            429: CALL_ERROR,
            502: CALL_ERROR,
            504: CALL_ERROR,
        },
    )
    def post(self, request, installation_id: int, operation: str):
        raise MethodNotAllowed("POST")  # never routed: see plugins.proxy.fast.call_view


def served_by(view, api_class):
    """Route `view` while documenting and classifying it as `api_class` (drf-spectacular and
    the route walker read `cls`)."""
    view.cls = api_class
    view.initkwargs = {}
    view.tenant_scoped = True
    return view


class PassthroughApi(OrganizationAPIView):
    """Requests shaped like the plugin's own API, under the base the served spec names; run
    through the same pipeline. Anything not in the pinned spec is 404."""

    parser_classes = [RawParser]

    def _handle(self, request, installation_id: int, path: str):
        installation = installation_or_404(self, installation_id)
        user = acting_member(self.actor, request)
        matched = match_operation(toolset_of(installation.version), request.method, path)
        if matched is None:
            raise NotFound("No such operation.")
        tool, path_values = matched
        request_id = new_request_id()
        try:
            arguments = arguments_from_request(
                tool,
                path_values,
                {k: request.query_params.getlist(k) for k in request.query_params},
                request.headers,
                request.body,
            )
        except ProxyError as exc:
            return Response(exc.body(request_id), status=exc.status)
        result = call_operation(
            installation=installation,
            user=user,
            via=self.actor.token_kind,
            operation=tool.operation,
            arguments=arguments,
            request_id=request_id,
            lookups=False,
        )
        return _respond(result, raw=True)

    @extend_schema(exclude=True)
    def get(self, request, installation_id: int, path: str):
        return self._handle(request, installation_id, path)

    @extend_schema(exclude=True)
    def post(self, request, installation_id: int, path: str):
        return self._handle(request, installation_id, path)

    @extend_schema(exclude=True)
    def put(self, request, installation_id: int, path: str):
        return self._handle(request, installation_id, path)

    @extend_schema(exclude=True)
    def patch(self, request, installation_id: int, path: str):
        return self._handle(request, installation_id, path)

    @extend_schema(exclude=True)
    def delete(self, request, installation_id: int, path: str):
        return self._handle(request, installation_id, path)


class InstalledPluginOpenApi(OrganizationAPIView):
    """The pinned, repaired OpenAPI document of an installation, with only the operations the
    member may call and `servers` pointing at the passthrough base (authenticate with the
    marketplace token)."""

    @extend_schema(
        parameters=[OpenApiParameter(ON_BEHALF_OF, str, OpenApiParameter.HEADER, required=False)],
        responses={
            200: OpenApiResponse(description="An OpenAPI document."),
            409: OpenApiResponse(
                ErrorOutput, description="The pinned version no longer matches its hash."
            ),
        },
    )
    def get(self, request, installation_id: int):
        installation = installation_or_404(self, installation_id)
        user = acting_member(self.actor, request)
        policy = policy_of(installation=installation, user=user)
        if policy.pin_problem:
            return Response(error_body("proxy.pin_mismatch", policy.pin_problem), status=409)
        base = request.build_absolute_uri(
            reverse("api-installation-passthrough", args=[installation.pk, ""])
        ).rstrip("/")
        spec = served_spec(
            installation.version.normalized_openapi or {},
            base_url=base,
            operations=set(policy.grants),
            tools=toolset_of(installation.version),
        )
        return Response(spec)


@require_GET
def jwks_view(request):
    """Public keys verifying the caller assertion (`X-Marketplace-Assertion`)."""
    response = JsonResponse(jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response
