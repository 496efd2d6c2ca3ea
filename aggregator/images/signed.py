"""The image proxy's addresses: ``/images/<signature>/<base64url of the URL>`` on Chorus' own origin.

The signature is an HMAC-SHA256 of the URL under a key derived from the site's secret key, so only addresses
Chorus itself wrote (into a page it rendered) are fetched: the proxy is no open relay. Keys in
``SECRET_KEY_FALLBACKS`` still verify, so rotating the key breaks no page already open. Pages write many of
these per render: the derived key and the route's prefix are computed once.
"""

import base64
import binascii
import functools
import hashlib
import hmac
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import get_script_prefix, reverse

_SALT = b"chorus.images.proxy"
MAX_URL_CHARS = 2048
_SIGNATURE_BYTES = 18  # 144 bits, 24 characters


class BadProxyAddress(ValueError):
    """A proxy address Chorus did not write: a wrong signature, or not a URL at all."""


@functools.lru_cache(maxsize=8)
def _key(secret: str) -> bytes:
    return hashlib.sha256(_SALT + secret.encode()).digest()


def _signature(url: str, secret: str) -> str:
    digest = hmac.new(_key(secret), url.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:_SIGNATURE_BYTES]).decode()


@functools.lru_cache(maxsize=8)
def _route(script_prefix: str) -> str:
    # reverse() is the dearest part of an address; the prefix is part of what it returns, so one per prefix.
    return reverse("image_proxy", args=["SIGNATURE", "ENCODED"]).replace("SIGNATURE", "{}").replace("ENCODED", "{}")


def proxy_path(url: str) -> str:
    """The proxy's path for an http(s) ``url``, or "" for anything it will not fetch (another scheme, too long)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or len(url) > MAX_URL_CHARS:
        return ""
    encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    return _route(get_script_prefix()).format(_signature(url, settings.SECRET_KEY), encoded)


def proxied_url(signature: str, encoded: str) -> str:
    """The URL behind a proxy path's two parts; raises ``BadProxyAddress`` unless Chorus signed it."""
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise BadProxyAddress("not an image address") from error
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(hmac.compare_digest(signature.encode(), _signature(url, secret).encode()) for secret in secrets):
        raise BadProxyAddress("bad signature")
    return url
