"""GET /api/v1/installed-plugins/: the calling member's installed plugins as tools."""

from __future__ import annotations

import hashlib
import json

from django.db import transaction
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as ApiValidationError

from accounts.tenancy import OrganizationAPIView
from marketplace.pagination import DEFAULT_LIMIT, MAX_LIMIT, PAGE_PARAMETERS
from plugins.installations.actors import ON_BEHALF_OF, acting_member
from plugins.installations.lookup import CONNECTION_NOT_NEEDED, installed_plugins_for
from plugins.installations.selectors import (
    installations_for_lookup,
    tools_and_summary_of,
    warm_toolsets,
)
from plugins.selectors import plugins_matching
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
    bootstrap = serializers.DictField(
        help_text='x-bootstrap context: {"state": "none" | "pending" | "ready" | '
        '"not_connected", "context": [{"operation", "status", "text", "ok"}]}'
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
        child=serializers.DictField(),
        help_text="Operations this member can't call: operation, code (not_servable: the "
        "validated spec can't serve it; operation_unavailable: turned off; not_allowed: no "
        "allowed values for a guarded parameter; pin_mismatch: the pinned version changed "
        "after the pin) and the reason to show.",
    )
    openapi_url = serializers.CharField()


def _auth_type(installation) -> str:
    return tools_and_summary_of(installation.version)[1]["auth_type"]


def connections_for(installations: list, user, request) -> dict[int, dict]:
    """Each installation's connection state for the user, in two queries whatever the count:
    none/service_http need nothing from the user; user_http needs the user's key (the URL is
    where to enter it); oauth needs a live connection (the URL starts the connect flow)."""
    from plugins.credentials.models import OAuthConnection, UserCredential

    keys = set(
        UserCredential.objects.filter(installation__in=installations, user=user).values_list(
            "installation_id", flat=True
        )
    )
    oauth = dict(
        OAuthConnection.objects.filter(installation__in=installations, user=user).values_list(
            "installation_id", "state"
        )
    )
    states = {}
    for installation in installations:
        kind = _auth_type(installation)
        if kind in ("none", "service_http"):
            states[installation.pk] = {"state": CONNECTION_NOT_NEEDED, "connect_url": None}
            continue
        connected = (
            installation.pk in keys
            if kind == "user_http"
            else oauth.get(installation.pk) == "connected"
        )
        # The member's credentials page for the installation: enter a key, or connect.
        where = reverse(
            "installation-credentials",
            kwargs={
                "org_slug": installation.organization.slug,
                "installation_id": installation.pk,
            },
        )
        states[installation.pk] = {
            "state": "connected" if connected else "not_connected",
            "connect_url": None if connected else request.build_absolute_uri(where),
        }
    return states


def bootstrap_states(installations: list, user) -> dict[int, dict]:
    """x-bootstrap context per installation: kept answers, or "pending" while a worker runs the
    bootstrap operations (queued here, once, when nothing fresh is kept)."""
    from plugins.proxy.bootstrap import cached_states, claim_pending
    from plugins.proxy.tasks import run_bootstrap_task

    kept = cached_states(installations, user)
    states = {}
    for installation in installations:
        if installation.pk not in kept:
            states[installation.pk] = {"state": "none"}
        elif kept[installation.pk] is not None:
            states[installation.pk] = kept[installation.pk]
        else:
            if claim_pending(installation, user):
                ids = (installation.pk, user.pk)
                transaction.on_commit(lambda ids=ids: run_bootstrap_task.delay(*ids))
            states[installation.pk] = {"state": "pending"}
    return states


class InstalledPluginsApi(OrganizationAPIView):
    """The calling member's installed plugins with the operations they may call, as tool
    definitions in `?format=` (openai, openai-responses, anthropic, gemini, mcp). An
    organization key names the member in X-On-Behalf-Of. Filter with `?q=` (the catalogue's
    search: plugins.selectors.plugins_matching), page with limit/offset; answers carry an ETag
    and honour If-None-Match."""

    def perform_content_negotiation(self, request, force=False):
        # `?format=` names the tool format here, not a DRF renderer: always answer JSON.
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(FORMATS), description="Tool format."),
            OpenApiParameter(
                "q",
                str,
                description="Only plugins the catalogue's search finds (`GET /api/v1/plugins/"
                "?search=`): every word must match, the last one as a prefix; anything but "
                "letters and digits only separates words.",
            ),
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
        queryset = installations_for_lookup(organization=self.actor.organization).order_by("pk")
        matching = plugins_matching(
            organization=self.actor.organization, query=request.query_params.get("q", "")
        )
        if matching is not None:
            queryset = queryset.filter(plugin__in=matching.values("pk"))
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

        warm_toolsets([installation.version for installation in page])
        connections = connections_for(page, user, request)
        bootstraps = bootstrap_states(page, user)
        entries = installed_plugins_for(
            installations=page,
            user=user,
            fmt=fmt,
            call_url=call_url,
            openapi_url=openapi_url,
            connection=lambda installation: connections[installation.pk],
            bootstrap=lambda installation: bootstraps[installation.pk],
        )
        body = json.dumps(entries, separators=(",", ":"), default=str)
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
        if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            response = HttpResponse(status=304)
        else:  # rendered once, for the ETag and the body
            response = HttpResponse(body, content_type="application/json")
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
