"""The proxy's async face reads a credential's cache entry raw, in its rate limits' Redis round
trip: the key and the encoding must be the cache's own, whatever its KEY_PREFIX and VERSION."""

from __future__ import annotations

import pytest
import redis
from django.core.cache import caches

from plugins.credentials import cache


@pytest.mark.parametrize("options", [{}, {"KEY_PREFIX": "mkp", "VERSION": 3}])
def test_a_raw_read_finds_what_the_cache_wrote(settings, options):
    settings.CACHES = {"default": {**settings.CACHES["default"], **options}}
    caches["default"].set("cred:svc:raw-test", {"id": 7, "sealed": "v1.k.x"}, 60)
    key = cache.redis_key("cred:svc:raw-test")
    assert key == caches["default"].make_key("cred:svc:raw-test")
    raw = redis.Redis.from_url(settings.REDIS_URL).get(key)
    assert cache.loads(raw) == {"id": 7, "sealed": "v1.k.x"}
    assert cache.loads(None) is None


def test_no_raw_key_when_the_cache_is_not_the_proxys_redis(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert cache.redis_key("cred:svc:raw-test") is None
