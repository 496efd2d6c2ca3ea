"""The X API rate budget, shared by every process and every X source (it lives in the Django cache).

X counts requests per app and endpoint in 15-minute windows and reports what is left in each answer's
``x-rate-limit-remaining`` / ``x-rate-limit-reset`` (epoch seconds) headers. Chorus remembers the last report
per endpoint; while an endpoint's budget is spent, nothing is sent to it until the reset.
"""

import time

from django.core.cache import cache

DEFAULT_WINDOW = 15 * 60  # when a 429 names no reset: X's windows are 15 minutes
_KEY = "chorus:x:budget:{}"


def _header_int(headers: dict[str, str], name: str) -> int | None:
    value = headers.get(name, "").strip()
    return int(value) if value.isdigit() and len(value) < 16 else None


def record(endpoint: str, headers: dict[str, str], *, exhausted: bool = False,
           retry_after: float | None = None) -> None:  # fmt: skip
    """Remember what an answer said about ``endpoint``'s budget; ``exhausted`` for a 429."""
    now = time.time()
    remaining, reset = _header_int(headers, "x-rate-limit-remaining"), _header_int(headers, "x-rate-limit-reset")
    if exhausted:
        remaining = 0
        if reset is None or reset <= now:
            reset = int(now + (retry_after if retry_after is not None else DEFAULT_WINDOW))
    if remaining is None or reset is None or reset <= now:
        return
    timeout = min(int(reset - now) + 1, 24 * 3600)  # a server's far-future reset cannot block X for ever
    cache.set(_KEY.format(endpoint), (remaining, min(reset, int(now) + timeout)), timeout)


def blocked_until(endpoint: str) -> float | None:
    """Epoch seconds when ``endpoint`` may be called again, or None when there is budget left."""
    state = cache.get(_KEY.format(endpoint))
    if not state:
        return None
    remaining, reset = state
    return float(reset) if remaining <= 0 and reset > time.time() else None


def forget(endpoint: str) -> None:
    cache.delete(_KEY.format(endpoint))
