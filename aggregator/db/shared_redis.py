"""The process's client of the shared Redis (``REDIS_URL``), for what the cache API cannot say (lists, pipelines).

Keys are named through ``key()``, which carries ``CHORUS_REDIS_NAMESPACE`` as the cache's keys do, so hubs that
share a Redis database keep apart."""

import functools

import redis
from django.conf import settings
from django.core.cache import cache

_client: redis.Redis | None = None


def client() -> redis.Redis:
    """One connection pool per process, short timeouts: Redis is on the hub's own network."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0)
    return _client


@functools.cache
def script(source: str):
    """The Lua ``source`` registered once per process on ``client()``: called with ``keys`` and ``args``, it runs
    by its digest (``EVALSHA``); the text is sent only when Redis does not hold it yet."""
    return client().register_script(source)


def key(name: str) -> str:
    """``name`` under the cache's prefix (the namespace) and version."""
    return cache.make_key(name)
