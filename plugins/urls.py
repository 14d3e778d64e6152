from django.urls import path

from plugins import views

urlpatterns = [
    path("plugins/", views.storefront, name="storefront"),
    path("plugins/<str:public_id>/", views.storefront_plugin, name="storefront-plugin"),
    path("plugins/<str:public_id>/logo", views.storefront_logo, name="storefront-logo"),
    path("o/<slug:org_slug>/plugins/", views.publisher_plugins, name="publisher-plugins"),
    path("o/<slug:org_slug>/plugins/new/", views.plugin_register, name="plugin-register"),
    path("o/<slug:org_slug>/plugins/<id:plugin_id>/", views.plugin_detail, name="plugin-detail"),
    path(
        "o/<slug:org_slug>/plugins/<id:plugin_id>/revalidate/",
        views.plugin_revalidate,
        name="plugin-revalidate",
    ),
    path(
        "o/<slug:org_slug>/plugins/<id:plugin_id>/delete/",
        views.plugin_delete,
        name="plugin-delete",
    ),
    path(
        "o/<slug:org_slug>/plugins/<id:plugin_id>/archive/",
        views.plugin_archive,
        name="plugin-archive",
    ),
    path(
        "o/<slug:org_slug>/plugins/<id:plugin_id>/visibility/",
        views.plugin_visibility,
        name="plugin-visibility",
    ),
    path(
        "o/<slug:org_slug>/plugins/<id:plugin_id>/versions/<id:version_id>/",
        views.plugin_version,
        name="plugin-version",
    ),
    path(
        "o/<slug:org_slug>/plugins/<id:plugin_id>/versions/<id:version_id>/submit/",
        views.plugin_submit_review,
        name="plugin-submit-review",
    ),
    path(
        "o/<slug:org_slug>/validation-runs/<id:run_id>/",
        views.validation_run,
        name="validation-run",
    ),
]
