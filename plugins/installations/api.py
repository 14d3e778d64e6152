"""The installations REST API: install, read, change, uninstall; allow-lists per member.

One APIView per resource; each resolves the organization through OrganizationAPIView (the
token's), validates input, and calls one service or selector.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from accounts.models import Membership, Role
from accounts.tenancy import OrganizationAPIView
from marketplace.api_errors import ErrorOutput
from plugins import selectors as plugin_selectors
from plugins.installations import selectors, services
from plugins.installations.models import Installation
from plugins.installations.usage import usage_of
from plugins.models import PluginVersion, ValidationState


def installation_or_404(view: OrganizationAPIView, installation_id: int) -> Installation:
    installation = selectors.installation_of(
        organization=view.actor.organization, installation_id=installation_id
    )
    if installation is None:
        raise NotFound()
    return installation


class OperationStateOutput(serializers.Serializer):
    operation = serializers.CharField()
    enabled = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    guarded = serializers.DictField(child=serializers.CharField())


class InstallationOutput(serializers.Serializer):
    class VersionRef(serializers.Serializer):
        id = serializers.IntegerField()
        number = serializers.IntegerField()
        content_sha256 = serializers.CharField()

    id = serializers.IntegerField()
    plugin = serializers.IntegerField(source="plugin_id")
    plugin_name = serializers.CharField(source="plugin.name")
    name_for_model = serializers.CharField(source="plugin.name_for_model")
    version = VersionRef()
    enabled = serializers.BooleanField()
    disabled_operations = serializers.DictField(child=serializers.CharField())
    guarded_arguments = serializers.DictField(child=serializers.CharField())
    default_allowed = serializers.DictField(child=serializers.ListField())
    operations = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(OperationStateOutput(many=True))
    def get_operations(self, installation) -> list[dict]:
        toolset = selectors.toolset_of(installation.version)
        off = installation.disabled_operations or {}
        marked = installation.guarded_arguments or {}
        states = [
            {
                "operation": tool.operation,
                "enabled": tool.operation not in off,
                "reason": off.get(tool.operation) or None,
                "guarded": {
                    **tool.resources,
                    **{a: k for a, k in marked.items() if a in tool.bindings},
                },
            }
            for tool in toolset.tools
        ]
        states += [
            {"operation": d.operation, "enabled": False, "reason": d.reason, "guarded": {}}
            for d in toolset.disabled
        ]
        return states


def _installable_version(view, plugin_id: int, version_id: int | None) -> PluginVersion:
    """A version the organization may install: its own plugin's validated versions, or the
    published version of a public plugin. Anything else is the same 404."""
    plugin = plugin_selectors.plugin_visible_to_or_none(
        organization=view.actor.organization, plugin_id=plugin_id
    )
    if plugin is None:
        raise NotFound()
    own = plugin.organization_id == view.actor.organization.pk
    if version_id is None:
        version = plugin.published_version if not own or plugin.published_version else None
        if version is None and own:
            version = (
                plugin.versions.filter(validation_state=ValidationState.PASSED)
                .exclude(number=None)
                .order_by("-number")
                .first()
            )
    else:
        version = plugin.versions.filter(pk=version_id).first()
        if version is not None and not own and version.pk != plugin.published_version_id:
            version = None
    if version is None:
        raise NotFound("No installable version.")
    return version


class InstallationListApi(OrganizationAPIView):
    """GET: the organization's installations. POST (admin): install a plugin, pinned to the
    given version or its published one."""

    required_roles = {"POST": Role.ADMIN}

    class InstallInput(serializers.Serializer):
        plugin = serializers.IntegerField()
        version = serializers.IntegerField(required=False, allow_null=True)

    @extend_schema(responses=InstallationOutput(many=True))
    def get(self, request):
        installations = selectors.installations_of(organization=self.actor.organization)
        return Response(InstallationOutput(installations, many=True).data)

    @extend_schema(
        request=InstallInput,
        responses={
            201: InstallationOutput,
            404: OpenApiResponse(ErrorOutput, description="No such plugin or version for you."),
        },
    )
    def post(self, request):
        data = self.InstallInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = _installable_version(
            self, data.validated_data["plugin"], data.validated_data.get("version")
        )
        try:
            installation = services.install_plugin(
                organization=self.actor.organization, version=version, installed_by=request.user
            )
        except ValidationError as exc:
            raise ApiValidationError({"version": exc.messages}) from None
        return Response(InstallationOutput(installation).data, status=status.HTTP_201_CREATED)


class InstallationDetailApi(OrganizationAPIView):
    """GET: one installation with each operation's state. PATCH (admin): pin or upgrade the
    version, enable/disable, turn operations off with a reason, mark guarded arguments, set the
    default allow-list for members. DELETE (admin): uninstall."""

    required_roles = {"PATCH": Role.ADMIN, "DELETE": Role.ADMIN}

    class PatchInput(serializers.Serializer):
        version = serializers.IntegerField(required=False)
        enabled = serializers.BooleanField(required=False)
        disabled_operations = serializers.DictField(
            child=serializers.CharField(allow_blank=True), required=False
        )
        guarded_arguments = serializers.DictField(child=serializers.CharField(), required=False)
        default_allowed = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), required=False
        )

    @extend_schema(responses=InstallationOutput)
    def get(self, request, installation_id: int):
        return Response(InstallationOutput(installation_or_404(self, installation_id)).data)

    @extend_schema(request=PatchInput, responses=InstallationOutput)
    def patch(self, request, installation_id: int):
        installation = installation_or_404(self, installation_id)
        data = self.PatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "version" in values:
            values["version"] = _installable_version(
                self, installation.plugin_id, values["version"]
            )
        try:
            installation = services.update_installation(
                installation=installation, changed_by=request.user, **values
            )
        except ValidationError as exc:
            raise ApiValidationError(exc.messages) from None
        return Response(InstallationOutput(installation).data)

    @extend_schema(responses={204: OpenApiResponse(description="Uninstalled.")})
    def delete(self, request, installation_id: int):
        services.uninstall_plugin(
            installation=installation_or_404(self, installation_id), removed_by=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class AllowListOutput(serializers.Serializer):
    member = serializers.EmailField()
    values = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    is_default = serializers.BooleanField(
        help_text="True when the member has no list of their own and gets the default."
    )


class AllowListApi(OrganizationAPIView):
    """GET / PUT (admin) one member's allowed values per guarded parameter of an installation.

    `member` is a user id or an email. The body of PUT is `{"<parameter>": ["value", …]}` and
    replaces the member's list; a guarded parameter missing from it is denied (default deny).
    """

    required_role = Role.ADMIN

    def _member(self, member: str):
        memberships = Membership.objects.select_related("user").filter(
            organization=self.actor.organization
        )
        found = (
            memberships.filter(user_id=int(member)).first()
            if member.isdigit()
            else memberships.filter(user__email__iexact=member).first()
        )
        if found is None:
            raise NotFound("No such member.")
        return found.user

    def _output(self, installation, user):
        row = selectors.allow_list_of(installation=installation, user=user)
        values = row.values if row else dict(installation.default_allowed or {})
        return {"member": user.email, "values": values, "is_default": row is None}

    @extend_schema(responses=AllowListOutput)
    def get(self, request, installation_id: int, member: str):
        installation = installation_or_404(self, installation_id)
        return Response(self._output(installation, self._member(member)))

    @extend_schema(
        request={
            "application/json": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            }
        },
        responses=AllowListOutput,
    )
    def put(self, request, installation_id: int, member: str):
        installation = installation_or_404(self, installation_id)
        user = self._member(member)
        try:
            services.set_allow_list(
                installation=installation, member=user, values=request.data, changed_by=request.user
            )
        except ValidationError as exc:
            raise ApiValidationError(exc.messages) from None
        return Response(self._output(installation, user))


class UsageOutput(serializers.Serializer):
    class OperationUsage(serializers.Serializer):
        operation = serializers.CharField()
        calls = serializers.IntegerField()
        error_rate = serializers.FloatField()
        p50_ms = serializers.FloatField(allow_null=True)
        p95_ms = serializers.FloatField(allow_null=True)

    class DayUsage(serializers.Serializer):
        day = serializers.DateField()
        calls = serializers.IntegerField()

    days = serializers.IntegerField()
    operations = OperationUsage(many=True)
    per_day = DayUsage(many=True)


class UsageApi(OrganizationAPIView):
    """Calls per operation (error rate, p50/p95 latency) and per day over today and the days
    before it (`?days=`, default 30, at most 90), from the daily usage rollups the console's
    charts read; p50/p95 within 4.4 % (the rollups' latency histogram)."""

    @extend_schema(
        parameters=[OpenApiParameter("days", int, description="Days back (1-90).")],
        responses=UsageOutput,
    )
    def get(self, request, installation_id: int):
        installation = installation_or_404(self, installation_id)
        try:
            days = int(request.query_params.get("days", 30))
        except ValueError:
            raise ApiValidationError({"days": ["A whole number of days."]}) from None
        return Response(usage_of(installation=installation, days=days))
