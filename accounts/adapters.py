from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse


class AccountAdapter(DefaultAccountAdapter):
    """Every new user gets a personal organization; after login, land on the dashboard."""

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            from accounts.services import create_personal_organization

            create_personal_organization(user=user)
        return user

    def get_login_redirect_url(self, request):
        return reverse("dashboard")
