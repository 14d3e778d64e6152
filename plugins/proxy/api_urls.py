from django.urls import path, re_path

from plugins.proxy import api, fast

urlpatterns = [
    path(
        "installations/<int:installation_id>/operations/<str:operation>/call",
        api.served_by(fast.call_view, api.CallApi),
        name="api-installation-call",
    ),
    re_path(
        r"^installations/(?P<installation_id>[0-9]+)/passthrough/(?P<path>.*)$",
        api.PassthroughApi.as_view(),
        name="api-installation-passthrough",
    ),
    path(
        "installed-plugins/<int:installation_id>/openapi",
        api.InstalledPluginOpenApi.as_view(),
        name="api-installed-plugin-openapi",
    ),
]
