"""The signed caller assertion: who is calling, sent to the plugin with every proxied request.

A short-lived JWT (ES256, `kid` in the header) in the `X-Marketplace-Assertion` header::

    iss        settings.SITE_URL
    aud        the plugin's origin (scheme://host[:port] of the pinned server URL)
    sub        "user:<id>" of the member the call is for
    org        the organization's slug
    plugin     the plugin's public id;  operation: the operationId
    allowed    {"<parameter>": ["value", …]} for every guarded parameter of the operation
    databases  the `database`-kind values, flat (the seed plugin's claim)
    iat, exp (≤ 60 s later), jti

Plugins verify it with the public keys at `/.well-known/jwks.json`. Keys come from
settings.MARKETPLACE_ASSERTION_KEYS (PEM private keys, the first signs, all are published):
rotate by putting a new key first and dropping the old one a minute later.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
import time
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from django.conf import settings

HEADER = "X-Marketplace-Assertion"
ALGORITHM = "ES256"
LIFETIME_SECONDS = 60
_PEM_END = "-----END PRIVATE KEY-----"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    public_jwk: dict


def generate_pem() -> str:
    """A new P-256 private key as PKCS#8 PEM (for settings and rotation)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def split_pems(raw: str) -> list[str]:
    """The PEM blocks of a bundle (also accepts literal "\\n" from one-line env values)."""
    text = raw.replace("\\n", "\n")
    return [block.strip() + "\n" + _PEM_END for block in text.split(_PEM_END) if block.strip()]


@functools.lru_cache(maxsize=4)
def signing_keys(raw: str) -> tuple[SigningKey, ...]:
    """Parse the key bundle once per value; ValueError names what is wrong (never the key)."""
    keys = []
    for pem in split_pems(raw):
        try:
            key = serialization.load_pem_private_key(pem.encode(), password=None)
        except (ValueError, TypeError):
            raise ValueError("holds a block that is not an unencrypted PEM private key") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("keys must be P-256 (ES256) private keys")
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        kid = _thumbprint(jwk)
        keys.append(
            SigningKey(
                kid=kid,
                private_key=key,
                public_jwk={**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM},
            )
        )
    if not keys:
        raise ValueError("holds no key")
    return tuple(keys)


def _thumbprint(jwk: dict) -> str:
    """RFC 7638 JWK thumbprint: a stable key id."""
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode())
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def current_keys() -> tuple[SigningKey, ...]:
    return signing_keys(settings.MARKETPLACE_ASSERTION_KEYS)


def jwks() -> dict:
    """The public key set for `/.well-known/jwks.json`."""
    return {"keys": [key.public_jwk for key in current_keys()]}


def sign_assertion(
    *,
    audience: str,
    subject: str,
    organization: str,
    plugin: str,
    operation: str,
    allowed: dict[str, list[str]],
    resource_kinds: dict[str, str],
    now: float | None = None,
) -> str:
    """A signed assertion for one call (see the module docstring for the claims)."""
    key = current_keys()[0]
    issued = int(now if now is not None else time.time())
    databases = sorted(
        {
            v
            for arg, values in allowed.items()
            if resource_kinds.get(arg) == "database"
            for v in values
        }
    )
    claims = {
        "iss": settings.SITE_URL,
        "aud": audience,
        "sub": subject,
        "org": organization,
        "plugin": plugin,
        "operation": operation,
        "allowed": {arg: sorted(values) for arg, values in allowed.items()},
        "databases": databases,
        "iat": issued,
        "exp": issued + LIFETIME_SECONDS,
        "jti": secrets.token_urlsafe(12),
    }
    return _encode(claims, key)


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@functools.lru_cache(maxsize=8)
def _encoded_header(kid: str) -> bytes:
    return _b64(json.dumps({"alg": ALGORITHM, "kid": kid, "typ": "JWT"}).encode())


def _encode(claims: dict, key: SigningKey) -> str:
    """The compact JWS PyJWT would make (RFC 7515/7518 ES256: the raw 64-byte r||s), without
    its per-call header building and key checks; the key was checked once, when loaded."""
    signing_input = _encoded_header(key.kid) + b"." + _b64(_compact(claims))
    r, s = decode_dss_signature(key.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return (signing_input + b"." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))).decode()


def _compact(value: dict) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
