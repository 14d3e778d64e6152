"""Reads about users, organizations and memberships."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import ApiCredential, Invitation, Membership, Organization


def memberships_of(*, user) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("-organization__is_personal", "organization__name")
    )


def members_of(
    *, organization: Organization, email_contains: str = "", role: str = ""
) -> QuerySet[Membership]:
    """The organization's members by email; optionally those whose email contains a text
    (case-insensitive) and those holding one role."""
    members = Membership.objects.filter(organization=organization)
    if email_contains:
        members = members.filter(user__email__icontains=email_contains)
    if role:
        members = members.filter(role=role)
    return members.select_related("user").order_by("user__email", "pk")


def open_invitations_of(*, organization: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(organization=organization, accepted_at__isnull=True)


def credentials_of(*, organization: Organization, user=None) -> QuerySet[ApiCredential]:
    """Personal tokens of `user` in the organization, or the organization's API keys."""
    qs = ApiCredential.objects.filter(organization=organization)
    if user is None:
        return qs.filter(kind="organization")
    return qs.filter(kind="personal", user=user)


def default_organization_for(*, user, remembered_slug: str | None = None) -> Organization | None:
    """Where the user lands: the organization they last worked in, else the team they joined
    most recently (people invited to a team work there, not in their personal space)."""
    memberships = Membership.objects.filter(user=user).select_related("organization")
    if remembered_slug:
        remembered = memberships.filter(organization__slug=remembered_slug).first()
        if remembered:
            return remembered.organization
    membership = memberships.order_by("organization__is_personal", "-created_at").first()
    return membership.organization if membership else None
