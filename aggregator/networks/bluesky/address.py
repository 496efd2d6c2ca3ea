"""What a person types to follow a Bluesky account -> its handle (or DID) -> its profile's RSS feed.

Accepted: ``@alice.bsky.social`` (any handle: a domain name after ``@``), a bare ``alice.bsky.social``, and
profile URLs ``https://bsky.app/profile/<handle or did>`` (also on the configured ``CHORUS_BLUESKY_BASE``).
"""

import re
from urllib.parse import quote, urlsplit

from django.conf import settings

from aggregator.networks.errors import AddressError

BSKY_HOSTS = {"bsky.app", "www.bsky.app"}
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HANDLE = re.compile(rf"^(?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?$")
_DID = re.compile(r"^did:(?:plc:[a-z2-7]{24}|web:[A-Za-z0-9.-]{1,253})$")


class NotABlueskyAddress(AddressError):
    """The text looks like a Bluesky account but is not a usable one; the message says what was expected."""


def _base() -> str:
    return settings.CHORUS_BLUESKY_BASE.rstrip("/")


def is_bluesky_url(text: str) -> bool:
    text = text.strip()
    parts = urlsplit(text if "://" in text else "https://" + text)
    hosts = BSKY_HOSTS | {urlsplit(_base()).netloc.lower()}
    return parts.scheme in ("http", "https") and parts.netloc.lower() in hosts and parts.path.startswith("/profile/")


def looks_like_bluesky_handle(text: str) -> bool:
    """``@name.domain`` (a dot: X names have none) or a bare ``*.bsky.social``."""
    text = text.strip()
    if text.startswith("@") and text.count("@") == 1:
        return "." in text
    return text.lower().endswith(".bsky.social") and "/" not in text and "@" not in text


def _checked(handle: str, text: str) -> str:
    if _DID.match(handle):
        return handle
    if len(handle) > 253 or not _HANDLE.match(handle):
        raise NotABlueskyAddress(f"{text!r} is not a Bluesky handle: expected @name.bsky.social or a domain")
    return handle.lower()


def parse_bluesky_address(text: str) -> str:
    """The handle (lower-case) or DID behind what was typed. Raises ``NotABlueskyAddress``."""
    text = text.strip()
    if is_bluesky_url(text):
        path = urlsplit(text if "://" in text else "https://" + text).path
        return _checked(path.split("/")[2] if path.count("/") >= 2 else "", text)
    return _checked(text.removeprefix("@"), text)


def feed_url(handle: str) -> str:
    """The profile's public RSS feed on the Bluesky web app."""
    return f"{_base()}/profile/{quote(handle, safe=':.')}/rss"
