"""The Django cache on Redis without memcached's key checks.

Django's ``RedisCache`` runs ``BaseCache.validate_key`` on every key: a scan of each character for what memcached
refuses (spaces, control characters, more than 250 bytes), which Redis takes. ``unread_cache.changed`` drops a
key per follower of a new post, twice; those checks cost more CPU than the Redis command. Django documents
overriding ``validate_key`` in a subclass of a backend for keys it accepts (checked with Django 5.2).
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache


class RedisCache(DjangoRedisCache):
    def validate_key(self, key: str) -> None:
        """Any key: Redis has none of memcached's limits."""
