"""Django's Redis cache backend, with one redis-py client per connection pool instead of one per call.

Django's backend builds a new ``redis.Redis`` client for every cache operation; with redis-py 6
building one fills its response-callback table (~340 dict writes), ~0.3 ms of CPU per operation on
a 2-core machine, more than the round trip to Redis itself (bench/micro.py on PostgreSQL + Redis).
A client is thread-safe and holds no connection of its own (the pool does), so one per pool serves.
"""

from django.core.cache.backends import redis as django_redis


class _SharedClientRedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _SharedClientRedisCacheClient
