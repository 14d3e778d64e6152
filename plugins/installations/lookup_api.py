"""GET /api/v1/installed-plugins/: the calling member's installed plugins as tools."""

from __future__ import annotations

import hashlib
import json

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from accounts.tenancy import OrganizationAPIView
from marketplace.pagination import DEFAULT_LIMIT, MAX_LIMIT, PAGE_PARAMETERS
from plugins.installations.actors import ON_BEHALF_OF, acting_member
from plugins.installations.lookup import CONNECTION_NOT_NEEDED, installed_plugins_for
from plugins.installations.selectors import installations_of
from plugins.tools import DEFAULT_FORMAT, FORMATS


class InstalledPluginOutput(serializers.Serializer):
    installation_id = serializers.IntegerField()
    plugin_id = serializers.IntegerField()
    name_for_model = serializers.CharField()
    name_for_human = serializers.CharField()
    description_for_model = serializers.CharField()
    version = serializers.DictField()
    auth_type = serializers.CharField()
    connection = serializers.DictField(
        help_text='{"state": "not_needed" | "connected" | "not_connected", "connect_url": …}'
    )
    namespace = serializers.CharField()
    defer_loading = serializers.BooleanField(
        help_text="A hint for clients with tool search: load this plugin's tools on demand."
    )
    tools = serializers.ListField(
        child=serializers.DictField(), help_text="Tool definitions in the requested format."
    )
    operations = serializers.ListField(
        child=serializers.DictField(),
        help_text="Per tool: operation, call_url, guarded parameters, strict support and why "
        "not, few-shot and usage examples, helpers.",
    )
    unavailable = serializers.ListField(
        child=serializers.DictField(), help_text="Operations this member can't call, and why."
    )
    openapi_url = serializers.CharField()


def _connection(installation) -> dict:
    auth = ((installation.version.normalized or {}).get("auth") or {}).get("type") or "none"
    if auth in ("none", "service_http"):
        return {"state": CONNECTION_NOT_NEEDED, "connect_url": None}
    return {"state": "unknown", "connect_url": None}


class InstalledPluginsApi(OrganizationAPIView):
    """The calling member's installed plugins with the operations they may call, as tool
    definitions in `?format=` (openai, openai-responses, anthropic, gemini, mcp). An
    organization key names the member in X-On-Behalf-Of. Filter with `?q=` (name), page with
    limit/offset; answers carry an ETag and honour If-None-Match."""

    def perform_content_negotiation(self, request, force=False):
        # `?format=` names the tool format here, not a DRF renderer: always answer JSON.
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(FORMATS), description="Tool format."),
            OpenApiParameter("q", str, description="Only plugins whose name contains this."),
            OpenApiParameter(ON_BEHALF_OF, str, OpenApiParameter.HEADER, required=False),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: InstalledPluginOutput(many=True),
            304: OpenApiResponse(description="Not modified (If-None-Match)."),
        },
    )
    def get(self, request):
        fmt = request.query_params.get("format", DEFAULT_FORMAT)
        if fmt not in FORMATS:
            raise ApiValidationError({"format": [f"One of: {', '.join(FORMATS)}."]})
        user = acting_member(self.actor, request)
        queryset = installations_of(organization=self.actor.organization).order_by("pk")
        query = request.query_params.get("q", "").strip()
        if query:
            queryset = queryset.filter(plugin__name_for_model__icontains=query) | queryset.filter(
                plugin__name__icontains=query
            )
        limit, offset = _page(request)
        page = list(queryset[offset : offset + limit + 1])
        has_next = len(page) > limit
        page = page[:limit]

        def call_url(installation, operation):
            return request.build_absolute_uri(
                reverse("api-installation-call", args=[installation.pk, operation])
            )

        def openapi_url(installation):
            return request.build_absolute_uri(
                reverse("api-installed-plugin-openapi", args=[installation.pk])
            )

        entries = installed_plugins_for(
            installations=page,
            user=user,
            fmt=fmt,
            call_url=call_url,
            openapi_url=openapi_url,
            connection=_connection,
        )
        body = json.dumps(entries, sort_keys=True, separators=(",", ":"), default=str)
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
        if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            response = Response(status=304)
        else:
            response = Response(entries)
        response["ETag"] = etag
        response["Cache-Control"] = "private, no-cache"
        response["Vary"] = f"Authorization, {ON_BEHALF_OF}"
        if has_next:
            from rest_framework.utils.urls import replace_query_param

            url = replace_query_param(request.build_absolute_uri(), "offset", offset + limit)
            response["Link"] = f'<{url}>; rel="next"'
        return response


def _page(request) -> tuple[int, int]:
    def number(name, default):
        try:
            return max(int(request.query_params.get(name, default)), 0)
        except ValueError:
            return default

    return min(number("limit", DEFAULT_LIMIT) or DEFAULT_LIMIT, MAX_LIMIT), number("offset", 0)
