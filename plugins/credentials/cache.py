"""Cache entries of the hot path. They hold sealed values only, never plaintext.

Every write to a credential drops its entry at once and again after the transaction commits,
so a reader never sees a value the database no longer has for longer than one in-flight call.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

TTL = 3600


def service_key(plugin_id: int) -> str:
    return f"cred:svc:{plugin_id}"


def user_key(installation_id: int, user_id: int) -> str:
    return f"cred:usr:{installation_id}:{user_id}"


def oauth_key(installation_id: int, user_id: int) -> str:
    return f"cred:oauth:{installation_id}:{user_id}"


def get(key: str):
    return cache.get(key)


def put(key: str, value) -> None:
    cache.set(key, value, TTL)


def drop_on_commit(key: str) -> None:
    """Drop the entry now (a miss is always safe) and again once the transaction commits,
    in case a concurrent reader cached the old row in between."""
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def put_on_commit(key: str, value) -> None:
    cache.delete(key)
    transaction.on_commit(lambda: cache.set(key, value, TTL))


def first_use_in(key: str, seconds: int) -> bool:
    """True at most once per `seconds` for `key` (to throttle "last used" writes)."""
    return cache.add(key, 1, seconds)
