from accounts.models import Role
from accounts.selectors import memberships_of
from accounts.tenancy import CURRENT_ORG_SESSION_KEY


def organizations(request):
    """The header's organizations: the ones the user can switch between, and the current one.

    On an organization's page it is that organization; elsewhere (the storefront, account
    pages) it is the one the user last worked in, so the nav and the switcher keep it.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(memberships_of(user=user))
    current = getattr(request, "organization", None)
    if current is None:
        remembered = request.session.get(CURRENT_ORG_SESSION_KEY)
        current = next(
            (m.organization for m in memberships if m.organization.slug == remembered),
            memberships[0].organization if memberships else None,
        )
    match = getattr(request, "resolver_match", None)
    section = None
    if match and match.url_name and set(match.kwargs) == {"org_slug"}:
        section = match.url_name  # switching keeps the page: Members stays Members
    context = {
        "my_memberships": memberships,
        "current_organization": current,
        "switch_section": section,
    }
    actor = getattr(request, "actor", None)
    if actor is not None and getattr(request, "organization", None) is not None:
        # Every organization page gets these, whichever app renders it (views may override).
        context.update(
            organization=request.organization,
            actor=actor,
            is_admin=actor.can(Role.ADMIN),
            is_developer=actor.can(Role.DEVELOPER),
        )
    return context
