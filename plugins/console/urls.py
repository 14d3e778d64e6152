from django.urls import path

from plugins.console import views

urlpatterns = [
    path("o/<slug:org_slug>/installations/", views.installation_list, name="installation-list"),
    path("o/<slug:org_slug>/installations/new/", views.install, name="installation-create"),
    path(
        "o/<slug:org_slug>/installations/<int:installation_id>/",
        views.installation_detail,
        name="installation-detail",
    ),
    path(
        "o/<slug:org_slug>/installations/<int:installation_id>/uninstall/",
        views.uninstall,
        name="installation-uninstall",
    ),
    path(
        "o/<slug:org_slug>/installations/<int:installation_id>/allow-lists/",
        views.allow_lists,
        name="installation-allow-lists",
    ),
    path(
        "o/<slug:org_slug>/installations/<int:installation_id>/try/<str:operation>/",
        views.try_operation,
        name="installation-try",
    ),
    path("o/<slug:org_slug>/calls/", views.call_log, name="call-log"),
    path("o/<slug:org_slug>/calls.csv", views.call_log_csv, name="call-log-csv"),
    path(
        "o/<slug:org_slug>/plugins/<int:plugin_id>/usage/",
        views.plugin_usage,
        name="plugin-usage",
    ),
]
