"""One image from the web, fetched through the one outbound guard, checked and cached.

Checked means: an http(s) URL the guard allows (no private addresses, on every hop), a body within the
caller's byte cap (after decompression) and within the fetch deadline, and a raster type recognised by its
first bytes (``sniff``). What fails is refused with the HTTP status the proxy answers and a short reason.
Both outcomes are cached by URL in the ``images`` cache (files under var/ by default, shared by the
processes of one machine): a refused image is not fetched again for a while either.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

from aggregator.fetch import BlockedURL, FetchError, TooLarge, fetch
from aggregator.images.sniff import sniff

ACCEPT = "image/avif, image/webp, image/png, image/jpeg, image/gif, image/x-icon;q=0.9, image/*;q=0.5"
REFUSED_SECONDS = 3600  # a refused image (not found, not raster, too big, blocked) is asked for again after this
TRANSIENT_SECONDS = 300  # ... and one that failed for a passing reason (timeout, 5xx) after this
CACHE_ALIAS = "images"


@dataclass(frozen=True)
class Image:
    content_type: str
    body: bytes


class ImageRefused(Exception):
    """No usable image at that URL; ``status`` is what the proxy answers (403, 404, 413, 415), the message why.
    ``transient``: it may work soon (a timeout, a 5xx), so it is remembered for a shorter while."""

    def __init__(self, reason: str, *, status: int, transient: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.transient = transient


def _cache():
    return caches[CACHE_ALIAS] if CACHE_ALIAS in settings.CACHES else caches["default"]


def _key(url: str) -> str:
    return "chorus:image:" + hashlib.sha256(url.encode()).hexdigest()  # the same key in every process


def image_at(url: str, *, max_bytes: int | None = None, deadline: float | None = None) -> Image:
    """The raster image at ``url``, from the cache or fetched now; raises ``ImageRefused``.

    Unset limits come from ``CHORUS_IMAGE_MAX_BYTES`` and ``CHORUS_IMAGE_DEADLINE``. An image cached under a
    larger cap is refused (413) to a caller with a smaller one; one refused as too large for a smaller cap is
    fetched again for a larger one.
    """
    limit = settings.CHORUS_IMAGE_MAX_BYTES if max_bytes is None else max_bytes
    cache = _cache()
    key = _key(url)
    cached = cache.get(key)
    if cached is not None:
        found = _from_cache(cached, limit=limit)
        if found is not None:
            return found
    try:
        image = _fetched(url, max_bytes=limit, deadline=deadline)
    except ImageRefused as refused:
        seconds = TRANSIENT_SECONDS if refused.transient else REFUSED_SECONDS
        cache.set(key, ("refused", refused.status, str(refused), limit), seconds)
        raise
    cache.set(key, ("image", image.content_type, image.body), settings.CHORUS_IMAGE_CACHE_SECONDS)
    return image


def _from_cache(cached: tuple, *, limit: int) -> Image | None:
    """The cached outcome for a caller with this cap; None when it must be fetched again."""
    if cached[0] == "image":
        _, content_type, body = cached
        if len(body) > limit:
            raise ImageRefused(f"image larger than {limit} bytes", status=413)
        return Image(content_type, body)
    _, status, reason, cap = cached
    if status == 413 and cap < limit:
        return None
    raise ImageRefused(reason, status=status)


def _fetched(url: str, *, max_bytes: int, deadline: float | None) -> Image:
    seconds = settings.CHORUS_IMAGE_DEADLINE if deadline is None else deadline
    try:
        response = fetch(url, accept=ACCEPT, max_bytes=max_bytes, deadline=seconds)
    except BlockedURL as error:
        raise ImageRefused(f"refused: {error}", status=403) from error
    except TooLarge as error:
        raise ImageRefused(f"image larger than {max_bytes} bytes", status=413) from error
    except FetchError as error:
        raise ImageRefused(f"image unavailable: {error}", status=404, transient=not error.permanent) from error
    kind = sniff(response.body)
    if not kind:
        raise ImageRefused("not a raster image (PNG, JPEG, GIF, WebP, AVIF or ICO)", status=415)
    return Image(kind, response.body)
