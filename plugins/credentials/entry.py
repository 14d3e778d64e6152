"""What a key may look like when someone enters it. Messages never echo the value."""

from __future__ import annotations

from plugins.credentials.errors import CredentialRejected

MAX_KEY_LENGTH = 4096


def checked_key(raw: object, *, what: str = "key") -> str:
    """The key with surrounding whitespace removed, or CredentialRejected.

    A key ends up in an HTTP header or query string: control characters (newlines in
    particular: header injection), non-Latin-1 characters and absurd lengths are refused.
    """
    if not isinstance(raw, str):
        raise CredentialRejected(f"The {what} must be text.")
    value = raw.strip()
    if not value:
        raise CredentialRejected(f"The {what} is empty.")
    if len(value) > MAX_KEY_LENGTH:
        raise CredentialRejected(f"The {what} is longer than {MAX_KEY_LENGTH} characters.")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise CredentialRejected(f"The {what} contains line breaks or control characters.")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise CredentialRejected(f"The {what} contains characters a header cannot carry.") from None
    return value
