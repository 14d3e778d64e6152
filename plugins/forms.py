from django import forms

from plugins.models import Visibility
from plugins.validation.parsing import MANIFEST_MAX_BYTES, SPEC_MAX_BYTES


class RegisterPluginForm(forms.Form):
    url = forms.CharField(
        required=False,
        max_length=2000,
        label="Domain or URL",
        help_text="A domain (we fetch /.well-known/ai-plugin.json), a manifest URL, or the URL "
        "of an OpenAPI document with x-openplugin.",
        widget=forms.TextInput(attrs={"placeholder": "https://api.example.com"}),
    )
    manifest = forms.FileField(required=False, label="Manifest (ai-plugin.json)")
    openapi = forms.FileField(required=False, label="OpenAPI document (JSON or YAML)")
    origin = forms.CharField(
        required=False,
        max_length=255,
        label="Origin of the upload",
        help_text="The host the plugin is served from, e.g. api.example.com.",
    )
    visibility = forms.ChoiceField(choices=Visibility.choices, initial=Visibility.PRIVATE)

    def clean(self):
        data = super().clean()
        has_url = bool(data.get("url"))
        has_files = bool(data.get("manifest") or data.get("openapi"))
        if not has_url and not has_files:
            raise forms.ValidationError(
                "Give the plugin's URL, or upload its manifest, its OpenAPI document or both."
            )
        if has_url and has_files:
            raise forms.ValidationError("Give either a URL or uploaded documents, not both.")
        for field, limit in (("manifest", MANIFEST_MAX_BYTES), ("openapi", SPEC_MAX_BYTES)):
            upload = data.get(field)
            if upload is not None and upload.size > limit:
                self.add_error(field, f"The file is larger than {limit // 1024} KiB.")
        return data


class VisibilityForm(forms.Form):
    visibility = forms.ChoiceField(choices=Visibility.choices)


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
