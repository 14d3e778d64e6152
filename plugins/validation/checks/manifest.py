"""Validate stage: the OpenAI manifest (ai-plugin.json), docs/plugin-formats.md §1."""

from __future__ import annotations

import re

from plugins.validation.context import OPENAI_MANIFEST, Context
from plugins.validation.datatypes import Severity
from plugins.validation.domains import email_domain, host_of, is_absolute_http_url, is_local_host
from plugins.validation.refs import pointer
from plugins.validation.registry import CheckStage, Emit, register

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741

REQUIRED = (
    "schema_version",
    "name_for_model",
    "name_for_human",
    "description_for_model",
    "description_for_human",
    "auth",
    "api",
    "logo_url",
    "contact_email",
    "legal_info_url",
)
MAPPINGS = ("auth", "api")
# Fields a plugin can't be listed or used without; the others may be blank (the store had some).
ESSENTIAL = ("name_for_model", "name_for_human", "description_for_model", "description_for_human")
NAME_FOR_MODEL = re.compile(r"^[A-Za-z0-9_]+$")
LIMITS = {  # field: (documented limit, note)
    "name_for_human": (20, "the later docs say 20; the store accepted up to 28"),
    "description_for_human": (100, "the later docs say 100; the store enforced 120"),
    "description_for_model": (8000, "the documented limit"),
}
NAME_FOR_MODEL_MAX = 50


def _manifest(ctx: Context) -> dict | None:
    return ctx.manifest if ctx.dialect == OPENAI_MANIFEST else None


@register(
    "manifest.fields",
    stage=CheckStage.VALIDATE,
    codes={
        "manifest.field.missing": E,
        "manifest.field.wrong_type": E,
        "manifest.field.empty": E,
        "manifest.field.blank": W,
        "manifest.schema_version.unknown": W,
    },
)
def check_fields(ctx: Context, emit: Emit) -> None:
    """All ten fields present with the right JSON types."""
    m = _manifest(ctx)
    if m is None:
        return
    for key in REQUIRED:
        where = pointer(key)
        if key not in m:
            emit(
                "manifest.field.missing",
                where,
                f"The manifest has no `{key}`.",
                document="manifest",
            )
            continue
        value = m[key]
        expected = dict if key in MAPPINGS else str
        if not isinstance(value, expected):
            emit(
                "manifest.field.wrong_type",
                where,
                f"`{key}` must be {'an object' if expected is dict else 'a string'}.",
                document="manifest",
            )
        elif expected is str and not value.strip():
            code = "manifest.field.empty" if key in ESSENTIAL else "manifest.field.blank"
            emit(code, where, f"`{key}` is empty.", document="manifest")
    version = m.get("schema_version")
    if isinstance(version, str) and version.strip() and version != "v1":
        emit(
            "manifest.schema_version.unknown",
            "/schema_version",
            f"schema_version '{version[:20]}' is not 'v1'; the manifest is read as v1.",
            document="manifest",
        )


@register(
    "manifest.name_for_model",
    stage=CheckStage.VALIDATE,
    codes={"manifest.name_for_model.invalid_chars": E, "manifest.name_for_model.too_long": E},
)
def check_name_for_model(ctx: Context, emit: Emit) -> None:
    """The model's namespace: letters, digits and '_' only, at most 50."""
    m = _manifest(ctx)
    name = m.get("name_for_model") if m else None
    if not isinstance(name, str) or not name:
        return
    if not NAME_FOR_MODEL.match(name):
        emit(
            "manifest.name_for_model.invalid_chars",
            "/name_for_model",
            "name_for_model may only hold letters, digits and '_' (no spaces).",
            hint="e.g. 'todo_list'.",
            document="manifest",
        )
    if len(name) > NAME_FOR_MODEL_MAX:
        emit(
            "manifest.name_for_model.too_long",
            "/name_for_model",
            f"name_for_model has {len(name)} characters; at most {NAME_FOR_MODEL_MAX}.",
            document="manifest",
        )


@register(
    "manifest.lengths",
    stage=CheckStage.VALIDATE,
    codes={f"manifest.{key}.too_long": W for key in LIMITS},
)
def check_lengths(ctx: Context, emit: Emit) -> None:
    """Names and descriptions over the documented limits (the store accepted them: warnings)."""
    m = _manifest(ctx)
    for key, (limit, note) in LIMITS.items():
        value = m.get(key) if m else None
        if isinstance(value, str) and len(value) > limit:
            emit(
                f"manifest.{key}.too_long",
                pointer(key),
                f"`{key}` has {len(value)} characters; the limit is {limit} ({note}).",
                document="manifest",
            )


@register(
    "manifest.api",
    stage=CheckStage.VALIDATE,
    codes={
        "manifest.api.url.missing": E,
        "manifest.api.url.relative": W,
        "manifest.api.url.not_https": W,
        "manifest.api.type.unknown": W,
        "manifest.api.user_auth_alias": W,
        "manifest.api.user_auth_type": W,
    },
)
def check_api(ctx: Context, emit: Emit) -> None:
    """`api`: {type: openapi, url, is_user_authenticated}; aliases and relative URLs repaired."""
    m = _manifest(ctx)
    api = m.get("api") if m else None
    if not isinstance(api, dict):
        return
    url = api.get("url")
    if not isinstance(url, str) or not url.strip():
        emit(
            "manifest.api.url.missing",
            "/api/url",
            "api.url (the OpenAPI document's URL) is missing.",
            document="manifest",
        )
    elif not url.strip().lower().startswith(("http://", "https://")):
        resolved = ctx.plugin.api_url if ctx.plugin else None
        emit(
            "manifest.api.url.relative",
            "/api/url",
            "api.url is relative; it was resolved against the manifest's origin"
            + (f" ({resolved})." if resolved and resolved != url else "."),
            hint="Give the absolute URL.",
            document="manifest",
        )
    elif url.strip().lower().startswith("http://") and not is_local_host(host_of(url)):
        emit(
            "manifest.api.url.not_https",
            "/api/url",
            "api.url uses http://; remote plugins must be served over HTTPS.",
            document="manifest",
        )
    if api.get("type", "openapi") != "openapi":
        emit(
            "manifest.api.type.unknown",
            "/api/type",
            "api.type should be 'openapi'.",
            document="manifest",
        )
    if "has_user_authentication" in api:
        emit(
            "manifest.api.user_auth_alias",
            "/api/has_user_authentication",
            "`has_user_authentication` is read as `is_user_authenticated`.",
            document="manifest",
        )
    for key in ("is_user_authenticated", "has_user_authentication"):
        if key in api and not isinstance(api[key], bool):
            emit(
                "manifest.api.user_auth_type",
                pointer("api", key),
                f"api.{key} should be true or false, not a {type(api[key]).__name__}.",
                document="manifest",
            )


@register(
    "manifest.urls",
    stage=CheckStage.VALIDATE,
    codes={
        "manifest.logo_url.invalid": W,
        "manifest.logo_url.gif": W,
        "manifest.legal_info_url.invalid": W,
        "manifest.contact_email.invalid": W,
    },
)
def check_urls(ctx: Context, emit: Emit) -> None:
    """logo_url and legal_info_url are http(s) URLs; contact_email is an e-mail address."""
    m = _manifest(ctx)
    if not m:
        return
    for key in ("logo_url", "legal_info_url"):
        value = m.get(key)
        if isinstance(value, str) and value.strip() and not is_absolute_http_url(value.strip()):
            emit(
                f"manifest.{key}.invalid",
                pointer(key),
                f"`{key}` is not an http(s) URL.",
                document="manifest",
            )
    logo = m.get("logo_url")
    if isinstance(logo, str) and logo.lower().split("?")[0].endswith(".gif"):
        emit(
            "manifest.logo_url.gif",
            "/logo_url",
            "The logo is a GIF; use PNG or JPEG.",
            document="manifest",
        )
    email = m.get("contact_email")
    if isinstance(email, str) and email.strip() and email_domain(email) is None:
        emit(
            "manifest.contact_email.invalid",
            "/contact_email",
            "contact_email is not an e-mail address.",
            document="manifest",
        )
