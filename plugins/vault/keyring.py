"""The key ring: parsed once from a `kid:<base64>,kid:<base64>` string; the first key encrypts."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass

_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
KEY_BYTES = 32


class VaultMisconfigured(Exception):
    """The key ring is missing or malformed (never carries key material in its message)."""


@dataclass(frozen=True)
class KeyRing:
    primary: str
    keys: dict[str, bytes]

    def key(self, key_id: str) -> bytes | None:
        return self.keys.get(key_id)


def generate_key(key_id: str = "k1") -> str:
    """A new `kid:<base64>` entry for MARKETPLACE_ENCRYPTION_KEYS."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def parse_key_ring(raw: str) -> KeyRing:
    entries = [item.strip() for item in raw.replace("\n", ",").split(",") if item.strip()]
    if not entries:
        raise VaultMisconfigured("MARKETPLACE_ENCRYPTION_KEYS is empty")
    keys: dict[str, bytes] = {}
    primary = ""
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise VaultMisconfigured(
                f"MARKETPLACE_ENCRYPTION_KEYS entry {position} must look like kid:<base64>"
            )
        if key_id in keys:
            raise VaultMisconfigured(f"MARKETPLACE_ENCRYPTION_KEYS repeats the key id {key_id!r}")
        try:
            material = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise VaultMisconfigured(
                f"MARKETPLACE_ENCRYPTION_KEYS key {key_id!r} is not valid base64"
            ) from None
        if len(material) != KEY_BYTES:
            raise VaultMisconfigured(
                f"MARKETPLACE_ENCRYPTION_KEYS key {key_id!r} must be {KEY_BYTES} bytes"
            )
        keys[key_id] = material
        primary = primary or key_id
    return KeyRing(primary=primary, keys=keys)
