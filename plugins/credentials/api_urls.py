from django.urls import path

from plugins.credentials import api

urlpatterns = [
    path(
        "plugins/<int:plugin_id>/service-credential",
        api.ServiceCredentialApi.as_view(),
        name="api-plugin-service-credential",
    ),
    path(
        "plugins/<int:plugin_id>/oauth-client",
        api.OAuthClientApi.as_view(),
        name="api-plugin-oauth-client",
    ),
    path(
        "installations/<int:installation_id>/credential",
        api.InstallationCredentialApi.as_view(),
        name="api-installation-credential",
    ),
    path(
        "installations/<int:installation_id>/connect",
        api.InstallationConnectApi.as_view(),
        name="api-installation-connect",
    ),
    path(
        "installations/<int:installation_id>/connection",
        api.InstallationConnectionApi.as_view(),
        name="api-installation-connection",
    ),
    path("webhooks/", api.WebhookListApi.as_view(), name="api-webhooks"),
    path("webhooks/<int:webhook_id>", api.WebhookDetailApi.as_view(), name="api-webhook"),
]
