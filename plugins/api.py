"""The plugins REST API: register, list, read versions, follow validation runs.

One APIView per operation; each resolves the organization through OrganizationAPIView,
validates input, calls one service or selector and renders an output serializer.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.models import Role
from accounts.tenancy import OrganizationAPIView
from marketplace.api_errors import THROTTLED_RESPONSE, ErrorOutput, refuse_unknown_parameters
from marketplace.pagination import (
    PAGE_PARAMETER_NAMES,
    PAGE_PARAMETERS,
    page_headers,
    paged_response,
)
from marketplace.parsers import BoundedJSONParser
from plugins import publishing, registration, selectors, throttling
from plugins.api_list import page_fetcher
from plugins.listing import vetted_link
from plugins.models import Plugin, PluginVersion, ValidationRun, Visibility
from plugins.validation.parsing import MANIFEST_MAX_BYTES, SPEC_MAX_BYTES

VISIBILITIES = [choice.value for choice in Visibility]


class FindingOutput(serializers.Serializer):
    severity = serializers.CharField()
    code = serializers.CharField()
    document = serializers.CharField()
    pointer = serializers.CharField()
    message = serializers.CharField()
    hint = serializers.CharField()


class ValidationRunSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    stage = serializers.CharField()
    links = serializers.CharField(
        help_text="The link check after the verdict: '' (none), pending, checked or error."
    )
    url = serializers.SerializerMethodField()

    def get_url(self, run) -> str:
        request = self.context.get("request")
        path = reverse("api-validation-run", args=[run.pk])
        return request.build_absolute_uri(path) if request else path


class VersionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField(allow_null=True)
    source_kind = serializers.CharField()
    manifest_url = serializers.CharField()
    openapi_url = serializers.CharField()
    origin = serializers.CharField()
    content_sha256 = serializers.CharField()
    validation_state = serializers.CharField()
    created_at = serializers.DateTimeField()
    validated_at = serializers.DateTimeField(allow_null=True)
    diff = serializers.JSONField(allow_null=True)
    operations = serializers.SerializerMethodField()

    def get_operations(self, version) -> list[str]:
        return [op["name"] for op in version.operations]


class PluginOutput(serializers.Serializer):
    class PublisherOutput(serializers.Serializer):
        slug = serializers.SlugField()
        name = serializers.CharField()

    id = serializers.IntegerField()
    slug = serializers.SlugField()
    name = serializers.SerializerMethodField(
        help_text="The reviewed listing's; the publisher sees its latest validated version's."
    )
    name_for_model = serializers.CharField()
    description = serializers.SerializerMethodField()
    logo_url = serializers.SerializerMethodField(
        allow_null=True, help_text="A vetted http(s) URL, or null."
    )
    origin = serializers.CharField()
    visibility = serializers.CharField()
    requested_visibility = serializers.CharField(
        help_text="A wider visibility awaiting an operator's approval ('' when none)."
    )
    review_state = serializers.CharField()
    publisher = PublisherOutput(source="organization")
    published_version = VersionOutput(allow_null=True)
    public_url = serializers.SerializerMethodField(
        help_text="The storefront page, once published (public or unlisted)."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def _is_publisher(self, plugin) -> bool:
        organization = self.context.get("organization")
        return organization is not None and plugin.organization_id == organization.pk

    def get_name(self, plugin) -> str:
        return plugin.name if self._is_publisher(plugin) else plugin.listed_name or plugin.name

    def get_description(self, plugin) -> str:
        return plugin.description if self._is_publisher(plugin) else plugin.listed_description

    def get_logo_url(self, plugin) -> str | None:
        if not self._is_publisher(plugin):
            return plugin.listed_logo_url or None  # vetted when the listing was approved
        return vetted_link(plugin.logo_url) or None

    def get_public_url(self, plugin) -> str | None:
        if not plugin.is_published:
            return None
        if plugin.visibility == "private":
            return None
        path = reverse("storefront-plugin", args=[plugin.public_id])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class ValidationRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    stage = serializers.CharField()
    trigger = serializers.CharField()
    attempts = serializers.IntegerField()
    summary = serializers.CharField()
    drift = serializers.BooleanField()
    stage_timings = serializers.JSONField()
    plugin_id = serializers.IntegerField(source="version.plugin_id")
    version = VersionOutput()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    links = serializers.CharField(
        help_text=(
            "The logo and legal page are checked after the verdict: '' (nothing to check), "
            "pending (their warnings are not in `findings` yet), checked or error."
        )
    )
    links_finished_at = serializers.DateTimeField(allow_null=True)
    findings = FindingOutput(many=True)


class SubmissionOutput(serializers.Serializer):
    id = serializers.IntegerField(source="plugin.id")
    created = serializers.BooleanField()
    version = VersionOutput()
    validation = ValidationRunSummaryOutput(source="run")


class PluginListApi(OrganizationAPIView):
    """GET: published plugins and the caller organization's own. `?search=` (or its older name
    `?q=`) matches every word, the last as a prefix, best match first (name over description),
    and lists the 1,000 best matches at most; without it, by name. `X-Total-Count` counts what
    can be paged through: every plugin listed (the published ones as of the last minute at
    most), or a search's matches up to 1,000. Any other query parameter than these and
    `limit`/`offset` is refused with 400 `unknown_parameter`.

    POST: register a plugin (developer role or above) by URL (JSON) or by upload (multipart),
    answered 202 with the validation run to follow. Nothing is parsed in the request: byte-
    identical content returns the existing version at once (`created: false`); otherwise the
    plugin and version are provisional (no version number yet) until the worker has read the
    documents (an upload) or fetched them (a URL), and if they match an existing plugin (same
    name_for_model and origin) or version the run moves there — the run's `plugin_id` and
    `version` are authoritative. Over the submission limits: 429 with Retry-After.
    """

    required_roles = {"POST": Role.DEVELOPER}
    parser_classes = [BoundedJSONParser, MultiPartParser, FormParser]

    class UrlInput(serializers.Serializer):
        url = serializers.CharField(max_length=2000)
        visibility = serializers.ChoiceField(choices=VISIBILITIES, default=Visibility.PRIVATE)

    class UploadInput(serializers.Serializer):
        manifest = serializers.FileField(required=False)
        openapi = serializers.FileField(required=False)
        origin = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
        visibility = serializers.ChoiceField(choices=VISIBILITIES, default=Visibility.PRIVATE)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "search",
                str,
                description="Full-text search over names and descriptions, best match first; "
                "the last word matches as a prefix.",
            ),
            OpenApiParameter("q", str, description="The same as `search` (older name)."),
            *PAGE_PARAMETERS,
            *page_headers(
                "How many plugins can be paged through: every plugin listed (the published "
                "ones as of a minute ago at most), or a search's matches up to 1,000."
            ),
        ],
        responses={200: PluginOutput(many=True), 400: ErrorOutput},
    )
    def get(self, request):
        refuse_unknown_parameters(request, {"search", "q", *PAGE_PARAMETER_NAMES})
        query = request.query_params.get("search", request.query_params.get("q", ""))
        organization = self.actor.organization
        return paged_response(
            request,
            page_fetcher(organization=organization, query=query, request=request),
            count=lambda: selectors.count_visible_to(organization=organization, query=query),
        )

    @extend_schema(
        request={"application/json": UrlInput, "multipart/form-data": UploadInput},
        responses={
            202: SubmissionOutput,
            400: OpenApiResponse(ErrorOutput, description="A refused submission"),
            429: THROTTLED_RESPONSE,
        },
    )
    def post(self, request):
        if request.content_type.startswith("application/json"):
            return _submission_response(request, self.actor, lambda: self._register_by_url(request))
        return _submission_response(request, self.actor, lambda: self._register_by_upload(request))

    def _register_by_url(self, request):
        data = self.UrlInput(data=request.data)
        data.is_valid(raise_exception=True)
        throttling.charge_validation_request(actor=self.actor)
        return registration.register_plugin_by_url(
            organization=self.actor.organization,
            url=data.validated_data["url"],
            visibility=data.validated_data["visibility"],
            submitted_by=self.actor.user,
            actor_label=self.actor.audit_label,
        )

    def _register_by_upload(self, request):
        data = self.UploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        manifest = _read_upload(data.validated_data.get("manifest"), MANIFEST_MAX_BYTES, "manifest")
        openapi = _read_upload(data.validated_data.get("openapi"), SPEC_MAX_BYTES, "openapi")
        throttling.charge_validation_request(actor=self.actor)
        return registration.register_plugin_by_upload(
            organization=self.actor.organization,
            manifest=manifest,
            openapi=openapi,
            origin=data.validated_data["origin"],
            visibility=data.validated_data["visibility"],
            submitted_by=self.actor.user,
            actor_label=self.actor.audit_label,
        )


def _submission_response(request, actor, submit) -> Response:
    """Run a submission (which charges the caller's quota once its input is valid) and answer
    202 with the run to follow, 400 for a refused submission, 429 when over the limit."""
    try:
        submission = submit()
    except throttling.SubmissionThrottled as exc:
        raise Throttled(wait=exc.retry_after, detail=exc.message) from None
    except registration.SubmissionRejected as exc:
        return Response(
            {"error": {"code": exc.code, "message": exc.message}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    except ValidationError as exc:
        return Response(
            {"error": {"code": "submission.invalid", "message": "; ".join(exc.messages)}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    body = SubmissionOutput(submission, context={"request": request}).data
    return Response(body, status=status.HTTP_202_ACCEPTED)


class PluginRevalidateApi(OrganizationAPIView):
    """POST: validate the plugin again now (developer role or above), answered 202 with the run
    to follow. A plugin registered by URL is fetched again: unchanged documents are validated
    again as the existing version, changed ones become a new version; an uploaded plugin has its
    latest version checked again. Counts against the same limits as registrations."""

    required_role = Role.DEVELOPER

    @extend_schema(
        request=None,
        responses={
            202: SubmissionOutput,
            400: OpenApiResponse(ErrorOutput, description="The plugin has nothing to validate"),
            429: THROTTLED_RESPONSE,
        },
    )
    def post(self, request, plugin_id: int):
        plugin = self.get_scoped_or_404(Plugin.objects.all(), pk=plugin_id)

        def revalidate():
            throttling.charge_validation_request(actor=self.actor)
            run = publishing.revalidate_plugin(
                plugin=plugin, requested_by=self.actor.user, actor_label=self.actor.audit_label
            )
            return registration.Submission(
                plugin=run.version.plugin, version=run.version, run=run, created=True
            )

        return _submission_response(request, self.actor, revalidate)


def _read_upload(upload, limit: int, field: str) -> bytes | None:
    if upload is None:
        return None
    if upload.size > limit:
        raise ApiValidationError({field: [f"The file is larger than {limit // 1024} KiB."]})
    return upload.read()


class PluginDetailApi(OrganizationAPIView):
    """A plugin the caller may see: its own, or a published one. Otherwise 404."""

    @extend_schema(responses=PluginOutput)
    def get(self, request, plugin_id: int):
        plugin = _visible_plugin_or_404(self.actor.organization, plugin_id)
        return Response(PluginOutput(plugin, context=_plugin_context(request, self.actor)).data)


class PluginVersionsApi(OrganizationAPIView):
    """The plugin's versions: all of them for its publisher, the published one for others."""

    @extend_schema(responses=VersionOutput(many=True))
    def get(self, request, plugin_id: int):
        plugin = _visible_plugin_or_404(self.actor.organization, plugin_id)
        if plugin.organization_id == self.actor.organization.pk:
            versions = selectors.versions_of(plugin=plugin, include_unvalidated=True)
        else:
            versions = PluginVersion.objects.filter(pk=plugin.published_version_id)
        return Response(VersionOutput(versions, many=True).data)


class ValidationRunApi(OrganizationAPIView):
    """A validation run of one of the caller organization's plugins, with its findings."""

    @extend_schema(responses=ValidationRunOutput)
    def get(self, request, run_id: int):
        run = self.get_scoped_or_404(
            ValidationRun.objects.select_related("version").prefetch_related("findings"),
            pk=run_id,
        )
        return Response(ValidationRunOutput(run, context={"request": request}).data)


def _plugin_context(request, actor) -> dict:
    """Serializer context: the caller's organization decides whose text a plugin shows."""
    return {"request": request, "organization": actor.organization}


def _visible_plugin_or_404(organization, plugin_id: int) -> Plugin:
    plugin = selectors.plugin_visible_to_or_none(organization=organization, plugin_id=plugin_id)
    if plugin is None:
        raise NotFound()
    return plugin
