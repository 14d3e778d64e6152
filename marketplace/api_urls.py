from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from marketplace import api

urlpatterns = [
    path("", api.ApiRootApi.as_view(), name="api-root"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("accounts.api_urls")),
    path("", include("plugins.api_urls")),
    path("", include("plugins.installations.api_urls")),
    path("", include("plugins.proxy.api_urls")),
    path("", include("plugins.credentials.api_urls")),
]
