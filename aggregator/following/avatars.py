"""Source pictures: the account's avatar (X, fediverse) or the site's favicon, fetched through the one HTTP
helper, checked, and cached, then served from Chorus' own origin (readers' browsers never contact the source).

Only raster formats recognised by their first bytes are served (PNG, JPEG, GIF, WebP, ICO): never SVG or
anything a browser could run, whatever the server's Content-Type says.
"""

import hashlib
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from django.core import signing
from django.core.cache import cache

from aggregator.fetch import FetchError, fetch
from aggregator.models import Source

MAX_BYTES = 256 * 1024
DEADLINE = 5.0
CACHED_SECONDS = 24 * 3600
MISSING_SECONDS = 3600  # a source without a usable picture is asked again after this long
_KEY = "chorus:avatar:{}"
_PREVIEW_SALT = "chorus.avatars.preview"
PREVIEW_SECONDS = 3600  # how long a preview's picture link works
_ACCEPT = "image/png, image/jpeg, image/gif, image/webp, image/x-icon;q=0.9, image/*;q=0.5"


@dataclass(frozen=True)
class Avatar:
    content_type: str
    body: bytes


def sniff(body: bytes) -> str:
    """The image type by its first bytes, or "" for anything else (SVG, HTML, ...)."""
    if body.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if body.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if body[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    if body[:4] == b"\x00\x00\x01\x00":
        return "image/x-icon"
    return ""


def _http(url: str) -> str:
    return url if urlsplit(url).scheme in ("http", "https") else ""  # never javascript: or another scheme


def picture_url_for(*, avatar_url: str, site_url: str) -> str:
    """Where an account's or site's picture is: the avatar if it is an http(s) URL, else the site's
    ``/favicon.ico``; "" when neither is http(s)."""
    if _http(avatar_url):
        return avatar_url
    return urljoin(site_url, "/favicon.ico") if _http(site_url) else ""


def picture_url(source: Source) -> str:
    """Where the source's picture is: its avatar if known, else ``/favicon.ico`` of its site."""
    return picture_url_for(avatar_url=source.avatar_url, site_url=source.site_url or source.url)


def avatar_for(source: Source) -> Avatar | None:
    """The source's picture, from the cache or fetched now (at most ``DEADLINE`` seconds); None without one."""
    return picture_at(picture_url(source))


def picture_at(url: str) -> Avatar | None:
    """The picture at ``url`` (http(s) only), from the cache or fetched now; None if there is no usable one.

    Cached by URL: the sources of one site share their favicon, and a preview's picture is the one the
    source gets once followed.
    """
    if not _http(url):
        return None
    key = _KEY.format(hashlib.sha1(url.encode()).hexdigest())  # same key in every process
    cached = cache.get(key)
    if cached is not None:
        return Avatar(*cached) if cached else None
    try:
        response = fetch(url, accept=_ACCEPT, max_bytes=MAX_BYTES, deadline=DEADLINE)
        kind = sniff(response.body)
    except FetchError:
        kind = ""
    if not kind:
        cache.set(key, (), MISSING_SECONDS)
        return None
    cache.set(key, (kind, response.body), CACHED_SECONDS)
    return Avatar(kind, response.body)


def preview_token(url: str) -> str:
    """A signed, expiring stand-in for ``url`` that a page may carry, so the picture of an account nobody
    follows yet can be shown from Chorus (``/follow/preview-avatar``) without Chorus becoming an open proxy."""
    return signing.dumps(url, salt=_PREVIEW_SALT, compress=True)


def preview_url(token: str) -> str:
    """The URL behind a ``preview_token``; raises ``signing.BadSignature`` (also when it expired)."""
    return str(signing.loads(token, salt=_PREVIEW_SALT, max_age=PREVIEW_SECONDS))
