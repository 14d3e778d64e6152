from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from accounts.selectors import default_organization_for


@login_required
def dashboard(request):
    organization = default_organization_for(user=request.user)
    if organization is None:
        from accounts.services import create_personal_organization

        organization = create_personal_organization(user=request.user)
    return redirect("org-home", org_slug=organization.slug)
