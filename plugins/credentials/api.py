"""The credentials REST API (one APIView per resource; the rules live in services).

    PUT/GET/DELETE /plugins/{id}/service-credential      publisher, developer role or above
    PUT/GET        /plugins/{id}/oauth-client            publisher, developer role or above
    PUT/GET/DELETE /installations/{id}/credential        the calling user's own key
    POST           /installations/{id}/connect           -> {"connect_url"}
    GET/DELETE     /installations/{id}/connection        the calling user's OAuth connection
    GET/POST       /webhooks, DELETE /webhooks/{id}      connection-health webhooks, admins

Secrets go in and never come out: responses carry masked hints only.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from accounts.models import Role
from accounts.tenancy import OrganizationAPIView
from plugins.credentials import selectors, services
from plugins.credentials.errors import CredentialRejected
from plugins.credentials.models import ClientAuthMethod, TokenContentType, Webhook
from plugins.credentials.oauth.config import redirect_uri_for
from plugins.credentials.oauth.disconnect import disconnect
from plugins.credentials.oauth.flow import connect_url_for
from plugins.credentials.schemes import auth_type
from plugins.credentials.webhooks import create_webhook, delete_webhook
from plugins.installations.models import Installation
from plugins.models import Plugin
from plugins.outbound import FetchError

NO_CONTENT = OpenApiResponse(description="Done; nothing to return.")


class KeyInput(serializers.Serializer):
    token = serializers.CharField(
        trim_whitespace=False,
        max_length=8192,
        help_text="The key. Never returned; responses show a masked hint.",
    )


class KeyStatusOutput(serializers.Serializer):
    set = serializers.BooleanField()
    hint = serializers.CharField(help_text="The last four characters, masked: ••••abcd.")
    updated_at = serializers.DateTimeField(allow_null=True)
    unreadable = serializers.BooleanField(
        help_text="The stored key no longer decrypts (damaged or its key removed): re-enter it."
    )


class ServiceKeyStatusOutput(KeyStatusOutput):
    set_by = serializers.CharField()
    verification_token = serializers.CharField(
        help_text="Put this in the manifest's auth.verification_tokens (any key name)."
    )
    verification_found = serializers.BooleanField(
        help_text="Whether the newest validated version's manifest carries it."
    )


class UserKeyStatusOutput(KeyStatusOutput):
    last_used_at = serializers.DateTimeField(allow_null=True)


class OAuthClientInput(serializers.Serializer):
    client_id = serializers.CharField(max_length=255)
    client_secret = serializers.CharField(
        required=False, trim_whitespace=False, max_length=8192, help_text="Omit to keep it."
    )
    scopes = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    auth_method = serializers.ChoiceField(choices=ClientAuthMethod.values, required=False)
    token_content_type = serializers.ChoiceField(
        choices=["", *TokenContentType.values],
        required=False,
        help_text="form or json; empty: as the manifest says.",
    )
    revocation_url = serializers.URLField(required=False, allow_blank=True, max_length=1000)
    issuer = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class OAuthClientOutput(serializers.Serializer):
    client_id = serializers.CharField()
    client_secret = serializers.CharField(help_text="Masked: ••••abcd, or empty when not set.")
    scopes = serializers.CharField()
    auth_method = serializers.CharField()
    token_content_type = serializers.CharField()
    revocation_url = serializers.CharField()
    issuer = serializers.CharField()
    redirect_uri = serializers.CharField(help_text="Register exactly this at your provider.")
    updated_at = serializers.DateTimeField(allow_null=True)


class ConnectInput(serializers.Serializer):
    return_to = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="A path on this site to land on after connecting.",
    )


class ConnectOutput(serializers.Serializer):
    connect_url = serializers.CharField(
        help_text="A marketplace page (login required, for the calling user only) that sends "
        "the user to the provider. Valid for an hour, once."
    )


class ConnectionOutput(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=["not_connected", "connected", "refreshing", "needs_reconnect", "error"]
    )
    expires_at = serializers.DateTimeField(allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField())
    connected_at = serializers.DateTimeField(allow_null=True)
    last_refreshed_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()


def _bad_key(exc: CredentialRejected, field: str = "token") -> ApiValidationError:
    return ApiValidationError({field: [str(exc)]})


class _PublisherPluginApi(OrganizationAPIView):
    required_role = Role.DEVELOPER

    def plugin(self, plugin_id: int) -> Plugin:
        return self.get_scoped_or_404(Plugin, pk=plugin_id)


class ServiceCredentialApi(_PublisherPluginApi):
    """The publisher's service key for a service_http plugin: write-only, replaceable."""

    @extend_schema(request=KeyInput, responses={204: NO_CONTENT})
    def put(self, request, plugin_id: int):
        plugin = self.plugin(plugin_id)
        data = _valid(KeyInput, request)
        try:
            services.set_service_credential(
                plugin=plugin, token=data["token"], set_by=self.actor.user
            )
        except CredentialRejected as exc:
            raise _bad_key(exc) from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=ServiceKeyStatusOutput)
    def get(self, request, plugin_id: int):
        plugin = self.plugin(plugin_id)
        key = selectors.service_credential_status(plugin=plugin)
        services.verification_token_for(plugin=plugin)
        verification = selectors.verification_status(plugin=plugin)
        return Response(
            ServiceKeyStatusOutput(
                {
                    "set": key.set,
                    "hint": key.hint,
                    "updated_at": key.updated_at,
                    "unreadable": key.unreadable,
                    "set_by": key.set_by,
                    "verification_token": verification["token"],
                    "verification_found": verification["found"],
                }
            ).data
        )

    @extend_schema(responses={204: NO_CONTENT})
    def delete(self, request, plugin_id: int):
        services.delete_service_credential(
            plugin=self.plugin(plugin_id), deleted_by=self.actor.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class OAuthClientApi(_PublisherPluginApi):
    """The plugin's OAuth client at its provider, and the redirect URI to register there."""

    @extend_schema(request=OAuthClientInput, responses={204: NO_CONTENT})
    def put(self, request, plugin_id: int):
        plugin = self.plugin(plugin_id)
        data = _valid(OAuthClientInput, request)
        try:
            services.set_oauth_client(plugin=plugin, set_by=self.actor.user, **data)
        except CredentialRejected as exc:
            raise ApiValidationError({"detail": [str(exc)]}) from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=OAuthClientOutput)
    def get(self, request, plugin_id: int):
        plugin = self.plugin(plugin_id)
        client = selectors.oauth_client_of(plugin=plugin)
        return Response(
            OAuthClientOutput(
                {
                    "client_id": client.client_id if client else "",
                    "client_secret": client.secret_hint if client else "",
                    "scopes": client.scopes if client else "",
                    "auth_method": client.auth_method if client else ClientAuthMethod.POST,
                    "token_content_type": client.token_content_type if client else "",
                    "revocation_url": client.revocation_url if client else "",
                    "issuer": client.issuer if client else "",
                    "redirect_uri": redirect_uri_for(plugin),
                    "updated_at": client.updated_at if client else None,
                }
            ).data
        )


class _UserInstallationApi(OrganizationAPIView):
    """Acts for the calling user: a personal access token (an organization key has no user)."""

    needs: str = ""

    def installation(self, installation_id: int) -> Installation:
        if self.actor.user is None:
            raise PermissionDenied("This acts for a user: use a personal access token.")
        installation = self.get_scoped_or_404(
            Installation.objects.select_related("plugin", "version", "organization"),
            pk=installation_id,
        )
        if self.needs and auth_type(installation.version) != self.needs:
            raise ApiValidationError(
                {"detail": [f"This plugin does not use {self.needs} credentials."]}
            )
        return installation


class InstallationCredentialApi(_UserInstallationApi):
    """The calling user's own key for a user_http installation."""

    needs = "user_http"

    @extend_schema(request=KeyInput, responses={204: NO_CONTENT})
    def put(self, request, installation_id: int):
        installation = self.installation(installation_id)
        data = _valid(KeyInput, request)
        try:
            services.set_user_credential(
                installation=installation, user=self.actor.user, token=data["token"]
            )
        except CredentialRejected as exc:
            raise _bad_key(exc) from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=UserKeyStatusOutput)
    def get(self, request, installation_id: int):
        installation = self.installation(installation_id)
        key = selectors.user_credential_status(installation=installation, user=self.actor.user)
        return Response(
            UserKeyStatusOutput(
                {
                    "set": key.set,
                    "hint": key.hint,
                    "updated_at": key.updated_at,
                    "unreadable": key.unreadable,
                    "last_used_at": key.last_used_at,
                }
            ).data
        )

    @extend_schema(responses={204: NO_CONTENT})
    def delete(self, request, installation_id: int):
        installation = self.installation(installation_id)
        services.delete_user_credential(installation=installation, user=self.actor.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InstallationConnectApi(_UserInstallationApi):
    """Start connecting the calling user's account at the plugin's OAuth provider."""

    needs = "oauth"

    @extend_schema(request=ConnectInput, responses={200: ConnectOutput})
    def post(self, request, installation_id: int):
        installation = self.installation(installation_id)
        data = _valid(ConnectInput, request)
        url = connect_url_for(
            installation=installation, user=self.actor.user, return_to=data.get("return_to", "")
        )
        return Response(ConnectOutput({"connect_url": url}).data)


class InstallationConnectionApi(_UserInstallationApi):
    """The calling user's OAuth connection for an installation: its health, or disconnect."""

    needs = "oauth"

    @extend_schema(responses=ConnectionOutput)
    def get(self, request, installation_id: int):
        installation = self.installation(installation_id)
        return Response(
            ConnectionOutput(
                selectors.connection_status(installation=installation, user=self.actor.user)
            ).data
        )

    @extend_schema(responses={204: NO_CONTENT})
    def delete(self, request, installation_id: int):
        installation = self.installation(installation_id)
        if not disconnect(installation=installation, user=self.actor.user):
            raise NotFound("Not connected.")
        return Response(status=status.HTTP_204_NO_CONTENT)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class WebhookInput(serializers.Serializer):
    url = serializers.URLField(max_length=1000)


class WebhookOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    secret_hint = serializers.CharField(help_text="The signing secret, masked.")
    enabled = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class WebhookCreatedOutput(WebhookOutput):
    secret = serializers.CharField(
        help_text="The signing secret: shown in this response only. Deliveries carry "
        "X-Marketplace-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<body>'>."
    )


class WebhookListApi(OrganizationAPIView):
    """The organization's webhooks (connection.failing, connection.recovered); admins only."""

    required_role = Role.ADMIN

    @extend_schema(responses=WebhookOutput(many=True))
    def get(self, request):
        webhooks = selectors.webhooks_of(organization=self.actor.organization)
        return Response(WebhookOutput(webhooks, many=True).data)

    @extend_schema(request=WebhookInput, responses={201: WebhookCreatedOutput})
    def post(self, request):
        data = _valid(WebhookInput, request)
        try:
            webhook, secret = create_webhook(
                organization=self.actor.organization, url=data["url"], created_by=self.actor.user
            )
        except FetchError as exc:
            raise ApiValidationError({"url": [exc.message]}) from None
        body = WebhookOutput(webhook).data
        return Response({**body, "secret": secret}, status=status.HTTP_201_CREATED)


class WebhookDetailApi(OrganizationAPIView):
    required_role = Role.ADMIN

    @extend_schema(responses={204: NO_CONTENT})
    def delete(self, request, webhook_id: int):
        webhook = self.get_scoped_or_404(Webhook, pk=webhook_id)
        delete_webhook(webhook=webhook, deleted_by=self.actor.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
