"""Where a person's microblog lives: absolute addresses under the hub's public URL.

Remote hubs, feed readers and Webmention senders keep these addresses, so they are built from
``CHORUS_PUBLIC_URL`` (the address the world uses), never from whatever Host a request came with; a hub with
no public URL (a local demo) uses the embedded server's default address.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

FALLBACK_BASE = "http://127.0.0.1:8000"


def base_url() -> str:
    return (settings.CHORUS_PUBLIC_URL or FALLBACK_BASE).rstrip("/")


def public_host() -> str:
    """The host part of handles (``@alice@host``): the public URL's host, with its port when it has one."""
    return urlsplit(base_url()).netloc.lower()


def absolute(path: str) -> str:
    return base_url() + path


def profile_url(username: str) -> str:
    return absolute(reverse("profile", args=[username]))


def feed_url(username: str) -> str:
    return absolute(reverse("profile_feed", args=[username]))


def post_url(username: str, slug: str) -> str:
    return absolute(reverse("post_permalink", args=[username, slug]))


def hub_url() -> str:
    return absolute(reverse("websub_hub"))


def handle(username: str) -> str:
    return f"@{username}@{public_host()}"
