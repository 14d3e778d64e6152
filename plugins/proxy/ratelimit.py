"""Rate limits per user and per installation: fixed one-minute windows in the shared cache
(Redis in production and tests), so every web process counts together."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from plugins.proxy.errors import ProxyError

WINDOW_SECONDS = 60


def check_rate(*, user_id: int | None, installation_id: int, now: float | None = None) -> None:
    """Count one call; ProxyError 429 with Retry-After when a limit is passed."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now))
    limits = [(f"proxy:rate:inst:{installation_id}:{window}", settings.PROXY_RATE_PER_INSTALLATION)]
    if user_id is not None:
        limits.append((f"proxy:rate:user:{user_id}:{window}", settings.PROXY_RATE_PER_USER))
    for key, limit in limits:
        cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=WINDOW_SECONDS + 5)
            count = 1
        if count > limit:
            raise ProxyError(
                429,
                "proxy.rate_limited",
                "Too many calls; try again later.",
                decision="rate_limited",
                headers={"Retry-After": str(retry_after)},
            )
