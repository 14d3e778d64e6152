"""The one gate to tenant data.

Every tenant-scoped web view and API goes through here. "Missing" and "not yours" both raise
Http404 (or DRF's NotFound), so a caller learns nothing about other organizations; a member
whose role is too weak for an action inside their own organization gets 403.
"""

from __future__ import annotations

import functools

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from accounts.actors import Actor
from accounts.models import Membership, Organization, Role

__all__ = [
    "CURRENT_ORG_SESSION_KEY",
    "Actor",
    "HasActor",
    "OrganizationAPIView",
    "get_scoped_or_404",
    "membership_for",
    "organization_view",
    "require_role",
    "scoped",
]


# The slug of the organization the user last opened: the header keeps it on pages outside any
# organization, and /dashboard/ returns there.
CURRENT_ORG_SESSION_KEY = "current_org"


def membership_for(*, user, organization_slug: str) -> Membership:
    """The user's membership in the organization; Http404 when missing or not a member."""
    if user is None or not user.is_authenticated:
        raise Http404
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=user, organization__slug=organization_slug)
        .first()
    )
    if membership is None:
        raise Http404
    return membership


def require_role(actor: Actor, min_role: Role | str) -> None:
    if not actor.can(min_role):
        raise PermissionDenied(f"This needs the {Role(min_role).label} role or above.")


def scoped(queryset: QuerySet, organization: Organization, field: str = "organization") -> QuerySet:
    """Restrict a queryset to one organization's rows."""
    return queryset.filter(**{field: organization})


def get_scoped_or_404(
    queryset: QuerySet | type[Model],
    organization: Organization,
    *,
    field: str = "organization",
    **lookup,
) -> Model:
    """One object of the organization, or Http404 whether it is missing or someone else's."""
    if isinstance(queryset, type):
        queryset = queryset._default_manager.all()
    obj = scoped(queryset, organization, field).filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj


def organization_view(min_role: Role | str = Role.MEMBER):
    """Decorate a web view taking `org_slug`: sets request.actor (and .organization) or 404s.

    Anonymous visitors are sent to log in; members below `min_role` get 403.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, org_slug: str, *args, **kwargs):
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            membership = membership_for(user=request.user, organization_slug=org_slug)
            request.actor = Actor(
                organization=membership.organization, role=membership.role_enum, user=request.user
            )
            request.organization = membership.organization
            if request.session.get(CURRENT_ORG_SESSION_KEY) != org_slug:
                request.session[CURRENT_ORG_SESSION_KEY] = org_slug
            require_role(request.actor, min_role)
            return view(request, *args, **kwargs)

        wrapper.tenant_scoped = True
        wrapper.min_role = Role(min_role)
        return wrapper

    return decorator


class HasActor(BasePermission):
    """The request was authenticated by a bearer token (an organization key has no user, so
    DRF's IsAuthenticated would turn it away)."""

    def has_permission(self, request, view) -> bool:
        return isinstance(getattr(request, "auth", None), Actor)


class OrganizationAPIView(APIView):
    """Base class of every tenant-scoped API: the organization comes from the bearer token.

    Subclasses set `required_role` (per method via `required_roles`) and read `self.actor`.
    """

    permission_classes = [HasActor]
    required_role: Role | str = Role.MEMBER
    required_roles: dict[str, Role | str] = {}
    tenant_scoped = True

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        actor = getattr(request, "auth", None)
        if not isinstance(actor, Actor):
            raise drf_exceptions.NotAuthenticated()
        needed = self.required_roles.get(request.method, self.required_role)
        if not actor.can(needed):
            raise drf_exceptions.PermissionDenied(
                f"This needs the {Role(needed).label} role or above."
            )
        self.actor = actor

    def get_scoped_or_404(self, queryset, **lookup):
        try:
            return get_scoped_or_404(queryset, self.actor.organization, **lookup)
        except Http404:
            raise drf_exceptions.NotFound() from None
