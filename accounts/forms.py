"""Forms for the organization pages and the admin. They validate input only; the rules live in
accounts.services, whose ValidationErrors the views turn into form errors."""

from __future__ import annotations

from datetime import datetime, time

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils import timezone

from accounts.models import Role, User


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.SlugField(
        max_length=60,
        required=False,
        help_text="Used in addresses (/o/<slug>/). Leave empty to derive it from the name.",
    )


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class _ExpiryMixin(forms.Form):
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The token stops working at the start of this day (UTC).",
    )

    def clean_expires_on(self):
        day = self.cleaned_data.get("expires_on")
        if day is not None and day <= timezone.now().date():
            raise forms.ValidationError("The expiry date must be in the future.")
        return day

    @property
    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class TokenForm(_ExpiryMixin):
    name = forms.CharField(max_length=100, help_text="What uses this token, e.g. “laptop CLI”.")
    field_order = ["name", "expires_on"]


class ApiKeyForm(_ExpiryMixin):
    name = forms.CharField(max_length=100, help_text="What uses this key, e.g. “orchestrator”.")
    role = forms.ChoiceField(
        choices=Role.choices, initial=Role.MEMBER, help_text="The role the key acts with."
    )
    field_order = ["name", "role", "expires_on"]


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
