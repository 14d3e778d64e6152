"""A lock per OAuth connection, so concurrent callers trigger exactly one refresh.

With Redis: a redis-py Lock (random owner token, released only by its owner) whose lifetime
outlasts the token request's total deadline, so it cannot expire while its holder is still
talking to the provider. Waiters hold no database connection while they wait. Without Redis
(`make run` on SQLite): the row lock the refresh takes anyway serialises callers.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache

from django.conf import settings
from django.db import connection as database

from plugins.outbound.oauth import token_timeout


class LockBusy(Exception):
    """Another caller has been refreshing for longer than we wait."""


@lru_cache(maxsize=2)
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url)


@contextlib.contextmanager
def connection_lock(connection_id: int):
    if not settings.REDIS_URL:
        yield
        return
    from redis.exceptions import LockError

    # Outlives the token request's total deadline, so it can't expire under its holder.
    lifetime = token_timeout() * 3
    lock = _redis(settings.REDIS_URL).lock(
        f"lock:oauth-connection:{connection_id}",
        timeout=lifetime,
        blocking_timeout=lifetime * 0.8,
        sleep=0.02,
    )
    _release_pooled_database_connection()
    if not lock.acquire():
        raise LockBusy
    try:
        yield
    finally:
        with contextlib.suppress(LockError):
            lock.release()


def _release_pooled_database_connection() -> None:
    """Give this thread's pooled database connection back before waiting on another process.

    Otherwise waiters that already queried could hold every pooled connection while the lock's
    holder waits for one to save the refreshed tokens: a deadlock until the pool's timeout.
    Inside a transaction the connection stays (closing it would abort the transaction)."""
    if "pool" in database.settings_dict.get("OPTIONS", {}) and not database.in_atomic_block:
        database.close()
