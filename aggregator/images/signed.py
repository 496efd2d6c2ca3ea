"""The image proxy's addresses: ``/images/<signature>/<base64url of the URL>`` on Chorus' own origin.

The signature is an HMAC of the URL with the site's secret key, so only addresses Chorus itself wrote (into a
page it rendered) are fetched: the proxy is no open relay. Keys in ``SECRET_KEY_FALLBACKS`` still verify, so
rotating the key breaks no page already open.
"""

import base64
import binascii
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "chorus.images.proxy"
MAX_URL_CHARS = 2048


class BadProxyAddress(ValueError):
    """A proxy address Chorus did not write: a wrong signature, or not a URL at all."""


def _signature(url: str, secret: str | None = None) -> str:
    digest = salted_hmac(_SALT, url, secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def _encoded(url: str) -> str:
    return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def proxy_path(url: str) -> str:
    """The proxy's path for an http(s) ``url``, or "" for anything it will not fetch (another scheme, too long)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or len(url) > MAX_URL_CHARS:
        return ""
    return reverse("image_proxy", args=[_signature(url), _encoded(url)])


def proxied_url(signature: str, encoded: str) -> str:
    """The URL behind a proxy path's two parts; raises ``BadProxyAddress`` unless Chorus signed it."""
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise BadProxyAddress("not an image address") from error
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(constant_time_compare(signature, _signature(url, secret)) for secret in secrets):
        raise BadProxyAddress("bad signature")
    return url
