"""Issuing and checking the secrets we hand out (API tokens, invitation links).

A token looks like `mkp_<10 random chars>_<43 random chars>`. The first part is the visible
prefix (stored, shown in lists); the whole token is stored only as an HMAC-SHA256 under
settings.TOKEN_HMAC_KEY and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string

from django.conf import settings

TOKEN_PREFIX = "mkp_"
_ALPHABET = string.ascii_letters + string.digits
_TOKEN_RE = re.compile(r"^(mkp_[A-Za-z0-9]{10})_([A-Za-z0-9_-]{43})$")


def hash_secret(secret: str) -> str:
    return hmac.new(settings.TOKEN_HMAC_KEY.encode(), secret.encode(), hashlib.sha256).hexdigest()


def secrets_match(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def new_token() -> tuple[str, str]:
    """A fresh token and its visible prefix."""
    prefix = TOKEN_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def prefix_of(token: str) -> str | None:
    """The visible prefix of a well-formed token, or None for anything malformed."""
    match = _TOKEN_RE.match(token)
    return match.group(1) if match else None


def new_link_secret() -> str:
    return secrets.token_urlsafe(32)
