"""What a person types to follow an X account -> its username.

Accepted: ``@name``, ``x:name`` (the canonical address of an X source) and profile or post URLs on x.com or
twitter.com (``https://x.com/name``, ``twitter.com/name/status/123``).
"""

import re
from urllib.parse import urlsplit

from aggregator.networks.errors import AddressError

X_HOSTS = {"x.com", "twitter.com", "mobile.twitter.com", "mobile.x.com", "www.x.com", "www.twitter.com"}
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
# x.com paths that are pages of the site, not accounts
_NOT_ACCOUNTS = {"home", "i", "search", "explore", "settings", "intent", "hashtag", "messages", "notifications",
                 "login", "signup", "share", "compose", "tos", "privacy"}  # fmt: skip


class NotAnXAddress(AddressError):
    """The text looks like an X account but is not a usable one; the message says what was expected."""


def canonical_address(username: str) -> str:
    return f"x:{username.lower()}"


def is_x_url(text: str) -> bool:
    text = text.strip()
    parts = urlsplit(text if "://" in text else "https://" + text)
    return parts.scheme in ("http", "https") and (parts.hostname or "") in X_HOSTS


def _checked(name: str, text: str) -> str:
    if not _USERNAME.match(name) or name.lower() in _NOT_ACCOUNTS:
        raise NotAnXAddress(f"{text!r} is not an X account: expected @name (letters, digits and _, at most 15)")
    return name


def parse_x_address(text: str) -> str:
    """The username behind ``@name``, ``x:name`` or an x.com/twitter.com URL. Raises ``NotAnXAddress``."""
    text = text.strip()
    if text.startswith("@"):
        return _checked(text[1:], text)
    if text.lower().startswith("x:"):
        return _checked(text[2:], text)
    if is_x_url(text):
        path = urlsplit(text if "://" in text else "https://" + text).path.strip("/")
        return _checked(path.split("/", 1)[0], text)
    raise NotAnXAddress(f"{text!r} is not an X account: expected @name or an x.com/name URL")
