"""One authlib call per protocol step, with every failure classified.

TokenError.kind is one of:
    invalid_grant     the provider refused the code or refresh token (reconnect needed)
    invalid_client    the provider refused our client credentials (publisher must fix)
    transient         timeout, connection failure, 5xx, 429: try again later
    invalid_response  not a usable token response (HTML, redirect, no access_token, too big)
Messages are safe to show and to log: they never carry tokens, codes or secrets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from authlib.common.security import generate_token
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.client import OAuth2Client

from plugins.credentials.oauth.config import ProviderConfig
from plugins.outbound import FetchError, OAuthSession, fetch
from plugins.outbound.oauth import HTTP_STATUS, token_timeout

# Fields of a token response that are credentials: stored sealed in their own columns, never
# exposed as `auth.data` to templates.
SECRET_FIELDS = frozenset({"access_token", "refresh_token", "id_token"})
MAX_DATA_FIELDS = 30
MAX_FIELD_CHARS = 2000


class TokenError(Exception):
    def __init__(self, kind: str, message: str, *, error: str = ""):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.error = error  # the provider's `error` code, when it sent one

    @property
    def transient(self) -> bool:
        return self.kind == "transient"


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    token_type: str
    expires_at: float | None
    scope: str
    data: dict = field(repr=False)


def new_state() -> str:
    return generate_token(43)


def new_verifier() -> str:
    return generate_token(64)


def _client(config: ProviderConfig, *, json_body: bool | None = None) -> OAuth2Client:
    return OAuth2Client(
        OAuthSession(json_body=config.json_body if json_body is None else json_body),
        client_id=config.client_id,
        client_secret=config.client_secret,
        token_endpoint_auth_method=config.auth_method,
        revocation_endpoint_auth_method=config.auth_method,
        scope=config.scopes or None,
        redirect_uri=config.redirect_uri,
        code_challenge_method="S256",
        token_endpoint=config.token_url,
    )


def authorization_url(config: ProviderConfig, *, state: str, verifier: str) -> str:
    url, _ = _client(config).create_authorization_url(
        config.authorize_url, state=state, code_verifier=verifier
    )
    return url


def exchange_code(
    config: ProviderConfig, *, code: str, verifier: str, on_json_refused=None
) -> TokenSet:
    """Exchange an authorization code. Never retried after the provider read the code: a
    replayed code revokes every token minted from it."""
    return _token_call(
        config,
        lambda client: client.fetch_token(
            config.token_url,
            grant_type="authorization_code",
            code=code,
            code_verifier=verifier,
        ),
        on_json_refused=on_json_refused,
    )


def refresh(config: ProviderConfig, *, refresh_token: str, on_json_refused=None) -> TokenSet:
    tokens = _token_call(
        config,
        lambda client: client.refresh_token(config.token_url, refresh_token=refresh_token),
        on_json_refused=on_json_refused,
    )
    return tokens


def revoke(config: ProviderConfig, *, token: str, hint: str) -> bool:
    """RFC 7009 revocation; True when the provider answered 200."""
    if not config.revocation_url:
        return False
    try:
        response = _client(config, json_body=False).revoke_token(
            config.revocation_url, token=token, token_type_hint=hint
        )
    except FetchError:
        return False
    return response.status_code == 200


def validate_token(config: ProviderConfig, *, access_token: str) -> None:
    """Ask the plugin's token-validation URL (OpenPlugin `tokenValidationUrl`) whether it
    accepts `access_token`; raise TokenError when it doesn't. No URL: nothing to ask.

    A GET with the token as a bearer credential, through the outbound client, never following
    a redirect (the token must not travel to another host)."""
    if not config.token_validation_url:
        return
    try:
        response = fetch(
            config.token_validation_url,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            sensitive_headers=frozenset({"authorization"}),
            follow_redirects=False,
            max_bytes=64 * 1024,
            timeout=float(token_timeout()),
        )
    except FetchError as exc:
        raise TokenError(
            "transient" if exc.transient else "invalid_response",
            f"The token validation URL could not be reached: {exc.message}",
        ) from None
    if 200 <= response.status < 300:
        return
    if response.status >= 500:
        raise TokenError(
            "transient", f"The token validation URL is failing (HTTP {response.status})."
        )
    raise TokenError(
        "invalid_response",
        f"The plugin's token validation URL refused the new token (HTTP {response.status}).",
    )


def _token_call(config: ProviderConfig, call, *, on_json_refused) -> TokenSet:
    try:
        raw = call(_client(config))
    except OAuth2Error as exc:
        if config.json_body and _refused_json(exc):
            # The provider could not read a JSON body, so it has not read the code or refresh
            # token either: resending it as a form is not a replay.
            if on_json_refused is not None:
                on_json_refused()
            try:
                raw = call(_client(config, json_body=False))
            except (OAuth2Error, FetchError, ValueError) as retry_exc:
                raise _classified(retry_exc) from None
        else:
            raise _classified(exc) from None
    except (FetchError, ValueError) as exc:
        raise _classified(exc) from None
    return _token_set(dict(raw))


def _refused_json(exc: OAuth2Error) -> bool:
    return exc.error in {"invalid_request", "unsupported_media_type"} or (
        getattr(exc, "status_code", None) == 415
    )


def _classified(exc: Exception) -> TokenError:
    if isinstance(exc, OAuth2Error):
        error = str(exc.error or "")[:60]
        if error in {"invalid_grant", "access_denied", "unauthorized_client"}:
            return TokenError(
                "invalid_grant", f"The provider refused the grant ({error}).", error=error
            )
        if error == "invalid_client":
            return TokenError(
                "invalid_client", "The provider refused the plugin's OAuth client.", error=error
            )
        if error in {"temporarily_unavailable", "server_error", "slow_down"}:
            return TokenError("transient", f"The provider is failing ({error}).", error=error)
        return TokenError(
            "invalid_response", f"The provider refused the request ({error}).", error=error
        )
    if isinstance(exc, FetchError):
        if exc.code == HTTP_STATUS:
            if exc.transient:
                return TokenError("transient", exc.message)
            return TokenError("invalid_response", f"{exc.message} Redirects are not followed.")
        if exc.transient:
            return TokenError("transient", exc.message)
        return TokenError("invalid_response", exc.message)
    return TokenError("invalid_response", "The provider's answer is not a token response.")


def _token_set(raw: dict) -> TokenSet:
    access = raw.get("access_token")
    if not isinstance(access, str) or not access or len(access) > 8192:
        raise TokenError("invalid_response", "The provider's answer has no access_token.")
    refresh_token = raw.get("refresh_token")
    if refresh_token is not None and (
        not isinstance(refresh_token, str) or len(refresh_token) > 8192
    ):
        raise TokenError("invalid_response", "The provider's refresh_token is malformed.")
    token_type = raw.get("token_type") if isinstance(raw.get("token_type"), str) else "Bearer"
    if token_type.lower() == "bearer":
        token_type = "Bearer"
    expires_at = None
    expires_in = raw.get("expires_in")
    if isinstance(expires_in, str) and expires_in.isdigit():
        expires_in = int(expires_in)
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
        expires_at = time.time() + float(expires_in)
    scope = raw.get("scope") if isinstance(raw.get("scope"), str) else ""
    data = {}
    for key, value in raw.items():
        if key in SECRET_FIELDS or len(data) >= MAX_DATA_FIELDS:
            continue
        if isinstance(value, str | int | float | bool) or value is None:
            if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
                continue
            data[str(key)[:100]] = value
    return TokenSet(
        access_token=access,
        refresh_token=refresh_token or None,
        token_type=token_type[:32],
        expires_at=expires_at,
        scope=scope[:1000],
        data=data,
    )
