"""Fixed-window counters in the shared cache (Redis in production): how often something happened this minute."""

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from aggregator.db import shared_redis

# One round trip: the count, and the window's expiry on the first one (KEYS: the counter; ARGV: seconds).
_COUNT = "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"


def over_rate(key: str, *, limit: int, window: int = 60) -> bool:
    """Count one more event under ``key`` in the current window; True once the window holds more than ``limit``.
    Without Redis (the embedded hub's cache), a counter evicted between its creation and its increment lets that
    one event through."""
    bucket = f"chorus:rate:{key}:{int(timezone.now().timestamp()) // window}"
    if settings.REDIS_URL:  # a WebSub delivery asks this every time: one script call, not the cache's two commands
        return shared_redis.script(_COUNT)(keys=[shared_redis.key(bucket)], args=[window * 2]) > limit
    cache.add(bucket, 0, window * 2)
    try:
        return cache.incr(bucket) > limit
    except ValueError:
        return False
