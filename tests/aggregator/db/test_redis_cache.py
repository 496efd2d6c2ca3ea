"""``db.redis_cache``: the Django cache on Redis takes keys memcached would refuse, without a warning per key."""

import uuid
import warnings

from django.conf import settings
from django.core.cache import CacheKeyWarning

from aggregator.db.redis_cache import RedisCache


def test_keys_memcached_would_warn_about_are_stored_read_and_deleted_without_a_warning():
    cache = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": f"test-redis-cache-{uuid.uuid4().hex}"})
    keys = ["with a space", "x" * 300, "unread-counts-token:7"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        cache.set_many(dict.fromkeys(keys, "v"))
        assert cache.get_many(keys) == dict.fromkeys(keys, "v")
        cache.delete_many(keys)
        assert cache.get_many(keys) == {}
