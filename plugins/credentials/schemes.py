"""How a key is attached to a plugin call, from the version's auth block and its spec.

`scheme_for(version)` answers one of the registered schemes; add one by adding a function to
SCHEMES. A spec's `apiKey` security scheme (header or query, with its name) wins over the
manifest's `authorization_type`, which says bearer or basic.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

BEARER, BASIC, HEADER, QUERY = "bearer", "basic", "header", "query"


@dataclass(frozen=True)
class Scheme:
    kind: str  # bearer | basic | header | query
    name: str = ""  # the header or query parameter name for header/query

    def as_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name}


def _bearer(scheme: Scheme, secret: str, token_type: str = ""):
    return {"Authorization": f"{token_type or 'Bearer'} {secret}"}, {}


def _basic(scheme: Scheme, secret: str, token_type: str = ""):
    # "user:password" is encoded here; a value without a colon is taken as already encoded.
    value = base64.b64encode(secret.encode("latin-1")).decode() if ":" in secret else secret
    return {"Authorization": f"Basic {value}"}, {}


def _header(scheme: Scheme, secret: str, token_type: str = ""):
    return {scheme.name: secret}, {}


def _query(scheme: Scheme, secret: str, token_type: str = ""):
    return {}, {scheme.name: secret}


SCHEMES: dict[str, Callable[..., tuple[dict[str, str], dict[str, str]]]] = {
    BEARER: _bearer,
    BASIC: _basic,
    HEADER: _header,
    QUERY: _query,
}


def apply(scheme: Scheme, secret: str, token_type: str = "") -> tuple[dict, dict]:
    """(headers, query) carrying `secret` the way `scheme` says."""
    return SCHEMES[scheme.kind](scheme, secret, token_type)


def auth_block(version) -> dict:
    normalized = version.normalized or {}
    auth = normalized.get("auth")
    return auth if isinstance(auth, dict) else {"type": "none"}


def auth_type(version) -> str:
    value = auth_block(version).get("type")
    return value if value in {"none", "service_http", "user_http", "oauth"} else "none"


def scheme_for(version) -> Scheme:
    api_key = _api_key_scheme(version.normalized_openapi)
    if api_key is not None:
        return api_key
    kind = (auth_block(version).get("authorization_type") or "bearer").lower()
    return Scheme(BASIC if kind == BASIC else BEARER)


_HEADER_NAME_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_NOT_A_CREDENTIAL_HEADER = {"host", "content-length", "transfer-encoding", "connection", "cookie"}


def _api_key_scheme(spec) -> Scheme | None:
    if not isinstance(spec, dict):
        return None
    components = spec.get("components")
    schemes = components.get("securitySchemes") if isinstance(components, dict) else None
    if not isinstance(schemes, dict):
        return None
    for definition in schemes.values():
        if not isinstance(definition, dict):
            continue
        if definition.get("type") == "apiKey" and isinstance(definition.get("name"), str):
            name = definition["name"].strip()
            where = definition.get("in")
            if not name or len(name) > 100:
                continue
            if where == "header" and set(name) <= _HEADER_NAME_CHARS:
                if name.lower() not in _NOT_A_CREDENTIAL_HEADER:
                    return Scheme(HEADER, name)
            elif where == "query" and name.isascii() and name.isprintable():
                return Scheme(QUERY, name)
        if definition.get("type") == "http" and str(definition.get("scheme", "")).lower() == BASIC:
            return Scheme(BASIC)
    return None
