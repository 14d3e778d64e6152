from django.urls import path

from plugins.credentials import views

urlpatterns = [
    path("oauth/start/<str:key>", views.oauth_start, name="oauth-start"),
    path("oauth/callback/<str:plugin_public_id>", views.oauth_callback, name="oauth-callback"),
    path(
        "o/<slug:org_slug>/plugins/<int:plugin_id>/credentials/",
        views.plugin_credentials,
        name="plugin-credentials",
    ),
    path(
        "o/<slug:org_slug>/plugins/<int:plugin_id>/credentials/service-key/delete/",
        views.plugin_service_key_delete,
        name="plugin-service-key-delete",
    ),
    path("o/<slug:org_slug>/credentials/", views.my_credentials, name="my-credentials"),
    path(
        "o/<slug:org_slug>/installations/<int:installation_id>/credentials/",
        views.installation_credentials,
        name="installation-credentials",
    ),
    path(
        "o/<slug:org_slug>/installations/<int:installation_id>/credentials/key/delete/",
        views.installation_key_delete,
        name="installation-key-delete",
    ),
    path(
        "o/<slug:org_slug>/installations/<int:installation_id>/connect/",
        views.installation_connect,
        name="installation-connect",
    ),
    path(
        "o/<slug:org_slug>/installations/<int:installation_id>/reconnect/",
        views.installation_reconnect,
        name="installation-reconnect",
    ),
    path(
        "o/<slug:org_slug>/installations/<int:installation_id>/disconnect/",
        views.installation_disconnect,
        name="installation-disconnect",
    ),
    path("o/<slug:org_slug>/webhooks/", views.org_webhooks, name="org-webhooks"),
    path(
        "o/<slug:org_slug>/webhooks/<int:webhook_id>/delete/",
        views.org_webhook_delete,
        name="org-webhook-delete",
    ),
]
