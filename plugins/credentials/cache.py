"""Cache entries of the hot path. They hold sealed values only, never plaintext.

Every write to a credential drops its entry at once and again after the transaction commits,
so a reader never sees a value the database no longer has for longer than one in-flight call.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import get_key_func
from django.core.cache.backends.redis import RedisSerializer
from django.db import transaction

TTL = 3600
REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"


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


def redis_key(key: str) -> str | None:
    """The Redis key that holds `key`'s entry, for a caller that reads it in a round trip of
    its own (the proxy's async face, with its rate limits); None unless the cache is the Redis
    at REDIS_URL. Made as the cache makes it (KEY_PREFIX, VERSION, KEY_FUNCTION), without the
    per-call lookup of the cache's connection object."""
    config = settings.CACHES.get("default", {})
    if config.get("BACKEND") != REDIS_BACKEND or config.get("LOCATION") != settings.REDIS_URL:
        return None
    key_func = _key_func(config.get("KEY_FUNCTION"))
    return key_func(key, config.get("KEY_PREFIX", ""), config.get("VERSION", 1))


@functools.lru_cache(maxsize=4)
def _key_func(key_function):
    return get_key_func(key_function)


def loads(raw: bytes | None):
    """An entry as read raw from `redis_key` (None when absent)."""
    return None if raw is None else _serializer.loads(raw)


_serializer = RedisSerializer()
