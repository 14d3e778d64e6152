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


class MemberFilterForm(forms.Form):
    """The members page's filters: part of an email address, and a role."""

    q = forms.CharField(required=False, max_length=254, label="Email contains")
    role = forms.ChoiceField(required=False, choices=[("", "Any role"), *Role.choices])


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


class AuditFilterForm(forms.Form):
    user = forms.CharField(required=False, max_length=254, label="Person")
    plugin = forms.CharField(required=False, max_length=100)
    decision = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), ("allowed", "Allowed"), ("denied", "Denied")],
        help_text="The proxy's decision on a call.",
    )
    since = forms.DateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args, member_emails=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].widget.attrs.update(list="audit-people", autocomplete="off")
        self.member_emails = member_emails

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data
