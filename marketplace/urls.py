from django.contrib import admin
from django.urls import include, path

from marketplace import views
from plugins.proxy.api import jwks_view

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("readyz", views.readyz, name="readyz"),
    path(".well-known/jwks.json", jwks_view, name="jwks"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("plugins.urls")),
    path("", include("plugins.credentials.urls")),
    path("", include("plugins.console.urls")),
    path("api/v1/", include("marketplace.api_urls")),
]

handler400 = "marketplace.views.bad_request"
handler403 = "marketplace.views.permission_denied"
handler404 = "marketplace.views.not_found"
handler500 = "marketplace.views.server_error"
