"""Forms of the console: the installation's settings, and "try it" built from a tool's schema."""

from __future__ import annotations

import json

from django import forms

FIELD_PREFIX = "arg_"


class CallFilterForm(forms.Form):
    user = forms.CharField(required=False, max_length=254, label="Person")
    plugin = forms.CharField(required=False, max_length=100)
    decision = forms.ChoiceField(required=False)
    since = forms.DateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args, **kwargs):
        from plugins.installations.models import CallDecision

        super().__init__(*args, **kwargs)
        self.fields["decision"].choices = [("", "Any"), *CallDecision.choices]
        self.fields["user"].widget.attrs.update(list="call-people", autocomplete="off")

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data


class InstallForm(forms.Form):
    plugin = forms.CharField(max_length=32)


def argument_form_class(parameters: dict) -> type[forms.Form]:
    """A form with one field per argument of a tool's JSON Schema (`Tool.parameters`):
    text, numbers, yes/no, a choice for enums (and for allow-listed values), JSON for the rest.
    `cleaned_arguments()` gives the arguments to call with (empty fields left out)."""
    properties = (parameters or {}).get("properties") or {}
    required = set((parameters or {}).get("required") or [])
    fields: dict[str, forms.Field] = {}
    kinds: dict[str, str] = {}
    enums: dict[str, dict[str, object]] = {}
    for name, schema in properties.items():
        schema = schema if isinstance(schema, dict) else {}
        kind = schema.get("type") if isinstance(schema.get("type"), str) else "json"
        options = {
            "required": name in required,
            "label": name,
            "help_text": str(schema.get("description") or "")[:300],
        }
        if isinstance(schema.get("enum"), list):
            kind = "enum"
            enums[name] = {v if isinstance(v, str) else json.dumps(v): v for v in schema["enum"]}
            field = forms.ChoiceField(
                choices=[("", "—")] + [(key, str(v)) for key, v in enums[name].items()], **options
            )
        elif kind == "integer":
            field = forms.IntegerField(**options)
        elif kind == "number":
            field = forms.FloatField(**options)
        elif kind == "boolean":
            field = forms.TypedChoiceField(
                choices=[("", "—"), ("true", "yes"), ("false", "no")],
                coerce=lambda v: v == "true",
                empty_value=None,
                **options,
            )
        elif kind == "string":
            field = forms.CharField(max_length=10_000, **options)
        else:
            kind = "json"
            options["help_text"] = (options["help_text"] + " (JSON)").strip()
            field = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **options)
        fields[FIELD_PREFIX + name] = field
        kinds[name] = kind

    def clean(self):
        data = forms.Form.clean(self)
        arguments = {}
        for name, kind in kinds.items():
            value = data.get(FIELD_PREFIX + name)
            if value in (None, ""):
                continue
            if kind == "enum":
                value = enums[name][value]
            elif kind == "json":
                try:
                    value = json.loads(value)
                except ValueError:
                    self.add_error(FIELD_PREFIX + name, "Enter valid JSON.")
                    continue
            arguments[name] = value
        self.arguments = arguments
        return data

    return type("ArgumentForm", (forms.Form,), {**fields, "clean": clean})
