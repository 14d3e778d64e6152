from django import forms

from plugins.credentials.models import ClientAuthMethod, TokenContentType


class KeyForm(forms.Form):
    token = forms.CharField(
        label="Key",
        max_length=8192,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted; it can be replaced or deleted but never shown again.",
    )


class OAuthClientForm(forms.Form):
    client_id = forms.CharField(max_length=255)
    client_secret = forms.CharField(
        required=False,
        strip=False,
        max_length=8192,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the stored secret.",
    )
    scopes = forms.CharField(required=False, max_length=1000, help_text="Space-separated.")
    auth_method = forms.ChoiceField(choices=ClientAuthMethod.choices)
    token_content_type = forms.ChoiceField(
        required=False,
        choices=[("", "As the manifest says"), *TokenContentType.choices],
        label="Token request body",
    )
    revocation_url = forms.URLField(
        required=False, max_length=1000, label="Revocation URL", assume_scheme="https"
    )
    issuer = forms.CharField(
        required=False, max_length=1000, help_text="The provider's issuer, checked on callbacks."
    )


class WebhookForm(forms.Form):
    url = forms.URLField(max_length=1000, label="Endpoint URL", assume_scheme="https")
