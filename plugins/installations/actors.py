"""Who a call or a lookup is for: the token's user, or the member an organization key names."""

from __future__ import annotations

from rest_framework.exceptions import NotFound, PermissionDenied

from accounts.models import Membership

ON_BEHALF_OF = "X-On-Behalf-Of"


def acting_member(actor, request):
    """The user the request acts for (see `member_named`)."""
    return member_named(actor, request.headers.get(ON_BEHALF_OF) or "")


def member_named(actor, named: str):
    """The user a request acts for.

    A personal token or session acts for its user (naming someone else is refused). An
    organization API key must name a member of its organization by email in X-On-Behalf-Of;
    an unknown email and a non-member are the same 404.
    """
    named = named.strip()
    if actor.user is not None:
        if named and named.lower() != (actor.user.email or "").lower():
            raise PermissionDenied("Only an organization API key may act on behalf of a member.")
        return actor.user
    if not named:
        raise PermissionDenied(f"An organization API key must name a member in {ON_BEHALF_OF}.")
    membership = (
        Membership.objects.select_related("user")
        .filter(organization=actor.organization, user__email__iexact=named, user__is_active=True)
        .first()
    )
    if membership is None:
        raise NotFound("No such member.")
    return membership.user
