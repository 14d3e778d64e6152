from django.urls import path

from plugins.installations import api, lookup_api

urlpatterns = [
    path("installations/", api.InstallationListApi.as_view(), name="api-installations"),
    path(
        "installations/<int:installation_id>",
        api.InstallationDetailApi.as_view(),
        name="api-installation",
    ),
    path(
        "installations/<int:installation_id>/allow-lists/<str:member>",
        api.AllowListApi.as_view(),
        name="api-installation-allow-list",
    ),
    path(
        "installations/<int:installation_id>/usage",
        api.UsageApi.as_view(),
        name="api-installation-usage",
    ),
    path(
        "installed-plugins/", lookup_api.InstalledPluginsApi.as_view(), name="api-installed-plugins"
    ),
]
