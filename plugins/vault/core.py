"""AES-256-GCM sealing with associated data; the ring is read from settings once per value."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from plugins.vault.keyring import KeyRing, VaultMisconfigured, parse_key_ring

FORMAT = "v1"
NONCE_BYTES = 12
TAG_BYTES = 16
# A sealed value longer than this is not something we wrote.
MAX_SEALED_CHARS = 64 * 1024

__all__ = ["CredentialUnreadable", "VaultMisconfigured"]


class CredentialUnreadable(Exception):
    """A sealed value could not be opened: tampered, truncated, copied, or its key is gone.

    The message names the reason only (never the value or any key material).
    """

    def __init__(self, reason: str):
        super().__init__(f"stored credential is unreadable ({reason})")
        self.reason = reason


@lru_cache(maxsize=4)
def _ring_for(raw: str) -> KeyRing:
    return parse_key_ring(raw)


def _raw_ring() -> str:
    raw = getattr(settings, "MARKETPLACE_ENCRYPTION_KEYS", "")
    if not raw:
        raise VaultMisconfigured("MARKETPLACE_ENCRYPTION_KEYS is not set")
    return raw


def _ring() -> KeyRing:
    return _ring_for(_raw_ring())


@lru_cache(maxsize=16)
def _cipher(key_id: str, raw: str) -> AESGCM:
    return AESGCM(_ring_for(raw).keys[key_id])


def _aead(key_id: str) -> AESGCM:
    return _cipher(key_id, _raw_ring())


_SEPARATORS = ("\x1e", "\x1f")


def _associated_data(key_id: str, context: Mapping[str, object]) -> bytes:
    """FORMAT, key id and the context's sorted items, joined by separator characters no
    context may contain (so two different contexts never give the same bytes)."""
    if not context:
        raise ValueError("a sealed value must be bound to a context")
    parts = [FORMAT, key_id]
    for key in sorted(context):
        name, value = str(key), str(context[key])
        if any(sep in name or sep in value for sep in _SEPARATORS):
            raise ValueError("a context may not contain separator characters")
        parts.append(f"{name}\x1e{value}")
    return "\x1f".join(parts).encode()


def primary_key_id() -> str:
    return _ring().primary


def seal(plaintext: str, *, context: Mapping[str, object]) -> str:
    ring = _ring()
    key_id = ring.primary
    nonce = os.urandom(NONCE_BYTES)
    body = _aead(key_id).encrypt(
        nonce, plaintext.encode("utf-8"), _associated_data(key_id, context)
    )
    return f"{FORMAT}.{key_id}.{base64.urlsafe_b64encode(nonce + body).decode('ascii')}"


def _split(sealed: str) -> tuple[str, bytes]:
    if not isinstance(sealed, str) or not sealed or len(sealed) > MAX_SEALED_CHARS:
        raise CredentialUnreadable("malformed")
    parts = sealed.split(".")
    if len(parts) != 3 or parts[0] != FORMAT:
        raise CredentialUnreadable("malformed")
    try:
        blob = base64.urlsafe_b64decode(parts[2].encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise CredentialUnreadable("malformed") from None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise CredentialUnreadable("truncated")
    return parts[1], blob


def key_id_of(sealed: str) -> str:
    return _split(sealed)[0]


def needs_reseal(sealed: str) -> bool:
    return key_id_of(sealed) != _ring().primary


def open_sealed(sealed: str, *, context: Mapping[str, object]) -> str:
    key_id, blob = _split(sealed)
    ring = _ring()
    if ring.key(key_id) is None:
        raise CredentialUnreadable("unknown key")
    try:
        plaintext = _aead(key_id).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated_data(key_id, context)
        )
    except InvalidTag:
        raise CredentialUnreadable("does not authenticate") from None
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise CredentialUnreadable("malformed") from None


def reseal(sealed: str, *, context: Mapping[str, object]) -> str:
    """Re-encrypt under the primary key; a value already under it is returned unchanged."""
    if not needs_reseal(sealed):
        return sealed
    return seal(open_sealed(sealed, context=context), context=context)


def mask(secret: str) -> str:
    """A hint safe to show: the last four characters (none when the secret is short)."""
    if len(secret) < 12:
        return "••••"
    return "••••" + secret[-4:]
