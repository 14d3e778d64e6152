"""The vault: the only code that sees a stored secret in plaintext or imports a cipher.

AES-256-GCM with a key ring. The first key encrypts; every key decrypts. A sealed value is a
short ASCII string::

    v1.<key id>.<base64url(nonce 12 bytes || ciphertext || tag 16 bytes)>

and is bound by associated data to what it belongs to: the caller passes a `context` mapping
(e.g. ``{"org": 7, "owner": "user:3", "installation": 12, "field": "token"}``); the vault knows
no models. The key id is part of the associated data too, so a sealed value copied to another
row, field or tenant (or relabelled with another key id) fails to open.

Public API::

    seal(plaintext: str, *, context) -> str
    open_sealed(sealed: str, *, context) -> str          # raises CredentialUnreadable
    reseal(sealed: str, *, context) -> str               # re-encrypt under the primary key
    needs_reseal(sealed: str) -> bool                    # not under the primary key?
    key_id_of(sealed: str) -> str
    mask(secret: str) -> str                             # "••••abcd", for hints
    primary_key_id() -> str
    CredentialUnreadable, VaultMisconfigured

Keys come from settings.MARKETPLACE_ENCRYPTION_KEYS (``k2:<base64 32 bytes>,k1:<…>``, read
by settings from the environment or ``MARKETPLACE_ENCRYPTION_KEYS_FILE``).
"""

from plugins.vault.core import (
    CredentialUnreadable,
    VaultMisconfigured,
    key_id_of,
    mask,
    needs_reseal,
    open_sealed,
    primary_key_id,
    reseal,
    seal,
)
from plugins.vault.keyring import KeyRing, generate_key, parse_key_ring

__all__ = [
    "CredentialUnreadable",
    "KeyRing",
    "VaultMisconfigured",
    "generate_key",
    "key_id_of",
    "mask",
    "needs_reseal",
    "open_sealed",
    "parse_key_ring",
    "primary_key_id",
    "reseal",
    "seal",
]
