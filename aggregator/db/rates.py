"""Fixed-window counters in the shared cache (Redis in production): how often something happened this minute."""

from django.core.cache import cache
from django.utils import timezone


def over_rate(key: str, *, limit: int, window: int = 60) -> bool:
    """Count one more event under ``key`` in the current window; True once the window holds more than ``limit``.
    A counter evicted between its creation and its increment lets that one event through."""
    bucket = f"chorus:rate:{key}:{int(timezone.now().timestamp()) // window}"
    cache.add(bucket, 0, window * 2)
    try:
        return cache.incr(bucket) > limit
    except ValueError:
        return False
