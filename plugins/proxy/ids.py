"""Request ids: 24 hex characters, unguessable, in every answer and call event."""

import secrets


def new_request_id() -> str:
    return secrets.token_hex(12)
