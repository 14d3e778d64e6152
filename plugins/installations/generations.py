"""A generation number per installation, bumped on every change that affects calls.

The proxy's hot path caches an installation's context (pinned version, the member's policy) in
process and re-reads it when this number moves: one Redis GET per call instead of several
database round trips. Bumped after commit by the services that change an installation, its
allow-lists or its existence. Without Redis (`make run` on SQLite) there is no cache to
invalidate and these are no-ops.
"""

from __future__ import annotations

import functools

import redis
from django.conf import settings
from django.db import transaction


def key(installation_id: int) -> str:
    return f"installations:gen:{installation_id}"


@functools.cache
def _client() -> redis.Redis | None:
    return redis.Redis.from_url(settings.REDIS_URL) if settings.REDIS_URL else None


def bump_generation(installation_id: int) -> None:
    """Invalidate cached contexts of the installation now and again once the current
    transaction commits (a context reloaded in between still read the old rows)."""
    client = _client()
    if client is not None:
        client.incr(key(installation_id))
        transaction.on_commit(lambda: client.incr(key(installation_id)))
