from django.urls import path

from plugins import api

urlpatterns = [
    path("plugins/", api.PluginListApi.as_view(), name="api-plugins"),
    path("plugins/<id:plugin_id>/", api.PluginDetailApi.as_view(), name="api-plugin"),
    path(
        "plugins/<id:plugin_id>/versions/",
        api.PluginVersionsApi.as_view(),
        name="api-plugin-versions",
    ),
    path(
        "plugins/<id:plugin_id>/revalidate/",
        api.PluginRevalidateApi.as_view(),
        name="api-plugin-revalidate",
    ),
    path("validation-runs/<id:run_id>/", api.ValidationRunApi.as_view(), name="api-validation-run"),
]
