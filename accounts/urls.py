from django.urls import path

from accounts import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("switch-organization/", views.switch_organization, name="switch-organization"),
    path("organizations/new/", views.organization_create, name="organization-create"),
    path("invitations/<str:secret>/", views.invitation_accept, name="invitation-accept"),
    # Everything below is tenant-scoped: each view is an @organization_view.
    path("o/<slug:org_slug>/", views.org_home, name="org-home"),
    path("o/<slug:org_slug>/members/", views.org_members, name="org-members"),
    path("o/<slug:org_slug>/leave/", views.org_leave, name="org-leave"),
    path("o/<slug:org_slug>/members/invite/", views.member_invite, name="member-invite"),
    path(
        "o/<slug:org_slug>/members/<id:membership_id>/role/", views.member_role, name="member-role"
    ),
    path(
        "o/<slug:org_slug>/members/<id:membership_id>/remove/",
        views.member_remove,
        name="member-remove",
    ),
    path(
        "o/<slug:org_slug>/invitations/<id:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation-revoke",
    ),
    path("o/<slug:org_slug>/activity/", views.org_activity, name="org-activity"),
    path("o/<slug:org_slug>/activity.csv", views.org_activity_csv, name="org-activity-csv"),
    path("o/<slug:org_slug>/tokens/", views.org_tokens, name="org-tokens"),
    path(
        "o/<slug:org_slug>/tokens/<id:credential_id>/revoke/",
        views.token_revoke,
        name="token-revoke",
    ),
    path("o/<slug:org_slug>/api-keys/", views.org_api_keys, name="org-api-keys"),
    path(
        "o/<slug:org_slug>/api-keys/<id:credential_id>/revoke/",
        views.api_key_revoke,
        name="api-key-revoke",
    ),
]
