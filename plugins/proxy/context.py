"""Who is calling which installation, resolved once and cached for the async hot path.

`load_context(token, installation_id, on_behalf_of)` (sync, database) checks the bearer token,
the acting member, the installation (tenancy: missing and not-yours are the same 404) and asks
the one policy what the member may do. `CallContextCache` keeps the answer in process for a few
seconds, keyed by the token's HMAC, and drops it as soon as the installation's generation moves:
any change to it, its allow-lists or its pin, and any change to who may act in its organization
(a token revoked, a member removed or their role changed, a user deactivated; see
plugins.installations.generations), so each takes effect on the next call. A token that expires
is refused from its expiry on (the cached context carries it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied

from accounts.authentication import actor_for_token
from accounts.tokens import hash_secret
from plugins.installations.actors import member_named
from plugins.installations.policy import Policy
from plugins.installations.selectors import installation_for_call, policy_of
from plugins.proxy.errors import ProxyError

CONTEXT_TTL = 5.0
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class CallContext:
    installation: object
    user: object
    via: str
    policy: Policy
    expires_at: datetime | None = None  # the token's expiry


def _error(status: int, code: str, message: str) -> ProxyError:
    return ProxyError(status, code, message, decision="unavailable")


def load_context(token: str, installation_id: int, on_behalf_of: str) -> CallContext:
    actor = actor_for_token(token) if token else None
    if actor is None:
        raise _error(401, "not_authenticated", "Invalid or expired token.")
    try:
        user = member_named(actor, on_behalf_of)
    except PermissionDenied as exc:
        raise _error(403, "permission_denied", str(exc.detail)) from None
    except NotFound as exc:
        raise _error(404, "not_found", str(exc.detail)) from None
    installation = installation_for_call(
        organization=actor.organization, installation_id=installation_id
    )
    if installation is None:
        raise _error(404, "not_found", "Not found.")
    return CallContext(
        installation=installation,
        user=user,
        via=actor.token_kind,
        policy=policy_of(installation=installation, user=user),
        expires_at=getattr(actor.credential, "expires_at", None),
    )


class CallContextCache:
    """Entries keyed by `key(token, installation_id, on_behalf_of)` (computed once per call)."""

    def __init__(self) -> None:
        self._entries: dict[tuple, tuple[float, bytes | None, CallContext]] = {}

    def get(self, key: tuple, generation=...):
        """The cached context if fresh and (unless `generation` is omitted) of that
        generation; None otherwise."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, cached_generation, context = entry
        if expires < time.monotonic():
            return None
        if generation is not ... and cached_generation != generation:
            return None
        if context.expires_at is not None and context.expires_at <= timezone.now():
            return None
        return context

    def put(self, key: tuple, generation, context) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + CONTEXT_TTL, generation, context)

    def clear(self) -> None:
        self._entries.clear()

    @staticmethod
    def key(token: str, installation_id: int, on_behalf_of: str) -> tuple:
        # Never the token itself as a key: its HMAC, as stored for API credentials.
        return (hash_secret(token), installation_id, on_behalf_of.lower())


contexts = CallContextCache()
