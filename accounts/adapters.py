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

    def validate_unique_email(self, email):
        """A taken email is a plain form error at signup (allauth would otherwise hide it
        behind a "verification sent" page and an email to the owner)."""
        from accounts.models import User

        if User.objects.filter(email__iexact=email).exists():
            raise self.validation_error("email_taken")
        return super().validate_unique_email(email)

    def get_login_redirect_url(self, request):
        return reverse("dashboard")
