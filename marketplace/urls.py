from django.contrib import admin
from django.urls import include, path

from marketplace import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("plugins.urls")),
    path("", include("plugins.credentials.urls")),
    path("api/v1/", include("marketplace.api_urls")),
]

handler400 = "marketplace.views.bad_request"
handler404 = "marketplace.views.not_found"
handler500 = "marketplace.views.server_error"
