"""Validate stage: the auth block (manifest `auth` or `x-plugin-auth`), docs §2.

Each auth type declares what it needs; a block missing it can't work (an error). The
verification token is another platform's domain proof, so its absence is only a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugins.validation.context import OPENAI_MANIFEST, Context
from plugins.validation.datatypes import Severity
from plugins.validation.domains import is_absolute_http_url
from plugins.validation.normalize import snake_keys
from plugins.validation.registry import CheckStage, Emit, register
from plugins.validation.walk import as_list, iter_operations

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741

HTTP_AUTHORIZATION_TYPES = ("bearer", "basic")
OAUTH_CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class AuthScheme:
    """What one auth type needs; add a scheme by adding an entry to AUTH_SCHEMES."""

    name: str
    required: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    wants_verification: bool = False


AUTH_SCHEMES = {
    "none": AuthScheme("none"),
    "service_http": AuthScheme("service_http", ("authorization_type",), (), True),
    "user_http": AuthScheme("user_http", ("authorization_type",)),
    "oauth": AuthScheme(
        "oauth",
        ("client_url", "authorization_url"),
        ("client_url", "authorization_url", "token_validation_url"),
        True,
    ),
}


def _block(ctx: Context) -> tuple[object, str, str] | None:
    """(raw auth block, document, pointer prefix) or None when there's nothing to check."""
    if ctx.dialect == OPENAI_MANIFEST:
        if not isinstance(ctx.manifest, dict) or "auth" not in ctx.manifest:
            return None
        return ctx.manifest["auth"], "manifest", "/auth"
    if not isinstance(ctx.spec, dict) or "x-plugin-auth" not in ctx.spec:
        return None
    return ctx.spec["x-plugin-auth"], "openapi", "/x-plugin-auth"


@register(
    "auth.requirements",
    stage=CheckStage.VALIDATE,
    codes={
        "auth.wrong_type": E,
        "auth.type.missing": E,
        "auth.type.unknown": E,
        "auth.field.missing": E,
        "auth.authorization_type.unknown": E,
        "auth.url.invalid": E,
        "auth.oauth.content_type.unknown": E,
        "auth.oauth.content_type.missing": W,
        "auth.verification_tokens.missing": W,
        "auth.verification_tokens.marketplace_missing": W,
        "auth.verification_tokens.verified": I,
    },
)
def check_auth(ctx: Context, emit: Emit) -> None:
    """The auth block has a known type and what that type needs."""
    found = _block(ctx)
    if found is None:
        return
    raw, document, at = found
    if not isinstance(raw, dict):
        if document != "manifest":  # the manifest's field check reports it there
            emit("auth.wrong_type", at, "The auth block must be a mapping.", document=document)
        return
    data = snake_keys(raw)
    auth_type = data.get("type")
    if not isinstance(auth_type, str) or not auth_type.strip():
        emit(
            "auth.type.missing",
            f"{at}/type",
            "The auth block has no type (none, service_http, user_http or oauth).",
            document=document,
        )
        return
    scheme = AUTH_SCHEMES.get(auth_type.strip().lower())
    if scheme is None:
        emit(
            "auth.type.unknown",
            f"{at}/type",
            f"Unknown auth type '{auth_type[:40]}'; use none, service_http, user_http or oauth.",
            document=document,
        )
        return
    for key in scheme.required:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            emit(
                "auth.field.missing",
                f"{at}/{key}",
                f"{scheme.name} auth needs `{key}`.",
                document=document,
            )
    kind = data.get("authorization_type")
    if (
        "authorization_type" in scheme.required
        and isinstance(kind, str)
        and kind.strip()
        and kind.strip().lower() not in HTTP_AUTHORIZATION_TYPES
    ):
        emit(
            "auth.authorization_type.unknown",
            f"{at}/authorization_type",
            f"authorization_type '{kind[:40]}' is not bearer or basic.",
            document=document,
        )
    for key in scheme.urls:
        value = data.get(key)
        if isinstance(value, str) and value.strip() and not is_absolute_http_url(value.strip()):
            emit(
                "auth.url.invalid",
                f"{at}/{key}",
                f"`{key}` must be an absolute http(s) URL.",
                document=document,
            )
    if scheme.name == "oauth":
        _check_oauth_content_type(data, at, document, emit)
    if scheme.wants_verification and ctx.source.expected_verification_token:
        expected = ctx.source.expected_verification_token
        expected = expected() if callable(expected) else expected
        _check_marketplace_token(data, at, document, emit, expected)
    if scheme.wants_verification and ctx.dialect == OPENAI_MANIFEST:
        tokens = data.get("verification_tokens")
        if not isinstance(tokens, dict) or not tokens:
            emit(
                "auth.verification_tokens.missing",
                f"{at}/verification_tokens",
                f"{scheme.name} auth has no verification_tokens; the marketplace issues its "
                "own verification token when the plugin is registered.",
                document=document,
            )


def _check_marketplace_token(data: dict, at: str, document: str, emit: Emit, expected: str) -> None:
    """Whether the publisher put the token this marketplace issued into the auth block."""
    tokens = data.get("verification_tokens")
    if isinstance(tokens, dict) and expected in tokens.values():
        emit(
            "auth.verification_tokens.verified",
            f"{at}/verification_tokens",
            "The marketplace's verification token is in the manifest: the publisher controls it.",
            document=document,
        )
        return
    emit(
        "auth.verification_tokens.marketplace_missing",
        f"{at}/verification_tokens",
        "The marketplace's verification token (on the plugin's Credentials page) is not in "
        "auth.verification_tokens; add it to show that you control the plugin.",
        document=document,
    )


def _check_oauth_content_type(data: dict, at: str, document: str, emit: Emit) -> None:
    content_type = data.get("authorization_content_type")
    if content_type is None:
        emit(
            "auth.oauth.content_type.missing",
            f"{at}/authorization_content_type",
            "authorization_content_type is not set; application/json is used.",
            document=document,
        )
    elif (
        not isinstance(content_type, str) or content_type.strip().lower() not in OAUTH_CONTENT_TYPES
    ):
        emit(
            "auth.oauth.content_type.unknown",
            f"{at}/authorization_content_type",
            "authorization_content_type must be application/json or "
            "application/x-www-form-urlencoded.",
            document=document,
        )


# What each manifest auth type sends, as the spec's security scheme kinds it can satisfy.
_SATISFIES = {
    ("service_http", "bearer"): {"bearer", "api_key"},
    ("user_http", "bearer"): {"bearer", "api_key"},
    ("service_http", "basic"): {"basic"},
    ("user_http", "basic"): {"basic"},
    ("oauth", None): {"oauth", "bearer"},
}
_KIND_NAMES = {
    "bearer": "an HTTP bearer token",
    "basic": "HTTP basic credentials",
    "api_key": "an API key",
    "oauth": "OAuth",
    "other": "credentials",
}


@register(
    "auth.matches_spec",
    stage=CheckStage.VALIDATE,
    codes={"auth.security_mismatch": W},
)
def check_auth_matches_spec(ctx: Context, emit: Emit) -> None:
    """The auth block agrees with the spec's `security`: a plugin declaring no auth whose API
    demands credentials (or credentials of another kind) fails every call. A warning: the
    store never checked it, and a spec's security can be stale."""
    if ctx.plugin is None or not isinstance(ctx.spec, dict):
        return
    secured, total, kinds = _required_security(ctx.spec)
    if not secured:
        return
    auth = ctx.plugin.auth
    auth_type = (auth.type or "none").lower()
    document, at = (
        ("manifest", "/auth")
        if ctx.dialect == OPENAI_MANIFEST
        else (
            "openapi",
            "/x-plugin-auth",
        )
    )
    wanted = " or ".join(sorted(_KIND_NAMES[kind] for kind in kinds))
    hint = (
        "Make the auth block match how the API authenticates callers, or drop the stale "
        "`security` requirement from the spec."
    )
    if auth_type == "none":
        emit(
            "auth.security_mismatch",
            f"{at}/type",
            f"The auth type is none, but the spec requires {wanted} on {secured} of {total} "
            "operation(s): calls without credentials will be refused.",
            hint=hint,
            document=document,
        )
        return
    key = (auth_type, None if auth_type == "oauth" else (auth.authorization_type or "").lower())
    satisfied = _SATISFIES.get(key)
    if satisfied is not None and not (satisfied & kinds):
        emit(
            "auth.security_mismatch",
            f"{at}/type",
            f"The auth type is {auth_type}, but the spec's security asks for {wanted}.",
            hint=hint,
            document=document,
        )


def _required_security(spec: dict) -> tuple[int, int, set[str]]:
    """(operations that require credentials, all operations, kinds of scheme they require).
    An operation's own `security` overrides the top-level one; an empty list or an empty
    requirement `{}` among the alternatives means anonymous calls are allowed."""
    components = spec.get("components") if isinstance(spec.get("components"), dict) else {}
    schemes = components.get("securitySchemes")
    schemes = schemes if isinstance(schemes, dict) else {}
    top = spec.get("security")
    secured = total = 0
    kinds: set[str] = set()
    for _path, _method, operation, _pointer in iter_operations(spec):
        total += 1
        requirements = as_list(operation.get("security", top))
        alternatives = [r for r in requirements if isinstance(r, dict)]
        if not alternatives or any(not r for r in alternatives):
            continue
        secured += 1
        for requirement in alternatives:
            for name in requirement:
                kinds.add(_scheme_kind(schemes.get(name)))
    return secured, total, kinds


def _scheme_kind(scheme: object) -> str:
    if not isinstance(scheme, dict):
        return "other"
    kind = str(scheme.get("type", "")).lower()
    if kind == "http":
        http_scheme = str(scheme.get("scheme", "")).lower()
        return http_scheme if http_scheme in ("bearer", "basic") else "other"
    if kind == "apikey":
        return "api_key"
    if kind in ("oauth2", "openidconnect"):
        return "oauth"
    return "other"
