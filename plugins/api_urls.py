from django.urls import path

from plugins import api

urlpatterns = [
    path("plugins/", api.PluginListApi.as_view(), name="api-plugins"),
    path("plugins/<int:plugin_id>/", api.PluginDetailApi.as_view(), name="api-plugin"),
    path(
        "plugins/<int:plugin_id>/versions/",
        api.PluginVersionsApi.as_view(),
        name="api-plugin-versions",
    ),
    path(
        "plugins/<int:plugin_id>/revalidate/",
        api.PluginRevalidateApi.as_view(),
        name="api-plugin-revalidate",
    ),
    path(
        "validation-runs/<int:run_id>/", api.ValidationRunApi.as_view(), name="api-validation-run"
    ),
]
