"""Counters in the shared cache (rate limits, presence): one round trip on Redis.

Django's cache API needs three or four round trips to bump a counter on Redis (``add``, then
``incr``, which itself checks ``exists`` first, then ``touch``): ~20 % of the server's time under
a fan-out on PostgreSQL + Redis (py-spy, bench/run.py --profile --profile-config production).
On Redis this sends INCRBY and EXPIRE in one pipeline, through a redis-py client of its own on the
cache's server (Django's backend has no public door to its connection pool), under the cache's own
key names, so the cache API reads the same counters. Elsewhere (the embedded in-memory cache) it
uses the portable cache API.
"""

from functools import cache as once

import redis
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache


@once
def _client_for(location: str) -> redis.Redis:
    return redis.Redis.from_url(location)


def _redis_client() -> redis.Redis | None:
    if not isinstance(caches["default"], RedisCache):
        return None
    location = settings.CACHES["default"]["LOCATION"]
    return _client_for(location if isinstance(location, str) else location[0])


def increment(key: str, delta: int = 1, *, timeout: int, restart_expiry: bool = False) -> int:
    """Add ``delta`` to the counter at ``key`` (a missing counter starts at 0) and return the new
    value. The counter expires ``timeout`` seconds after it was made, or after this call when
    ``restart_expiry``."""
    client = _redis_client()
    if client is not None:
        full_key = cache.make_and_validate_key(key)
        pipeline = client.pipeline(transaction=False)
        pipeline.incrby(full_key, delta)
        if restart_expiry:
            pipeline.expire(full_key, timeout)
        else:
            pipeline.expire(full_key, timeout, nx=True)
        value, _ = pipeline.execute()
        return value
    if cache.add(key, delta, timeout=timeout):
        return delta
    try:
        value = cache.incr(key, delta)
    except ValueError:  # expired between add and incr
        cache.set(key, delta, timeout=timeout)
        return delta
    if restart_expiry:
        cache.touch(key, timeout)
    return value


def read_many(keys: list[str]) -> dict[str, int]:
    """The counters at ``keys`` that exist, in one round trip (MGET on Redis, where Django's
    ``get_many`` builds a client per call first: the online check runs on every message sent)."""
    client = _redis_client()
    if client is None:
        return {key: value for key, value in cache.get_many(keys).items() if value is not None}
    if not keys:
        return {}
    values = client.mget([cache.make_and_validate_key(key) for key in keys])
    return {key: int(value) for key, value in zip(keys, values, strict=True) if value is not None}
