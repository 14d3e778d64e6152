from accounts.selectors import memberships_of


def organizations(request):
    """The organizations the signed-in user can switch between, for the header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "my_memberships": memberships_of(user=user),
        "current_organization": getattr(request, "organization", None),
    }
