"""A Bluesky account as a follow-box address: ``@name.domain``, ``*.bsky.social``, a ``bsky.app/profile/...`` URL
-> the RSS feed of its profile."""

from aggregator.networks.bluesky.address import (
    feed_url,
    is_bluesky_url,
    looks_like_bluesky_handle,
    parse_bluesky_address,
)
from aggregator.networks.bluesky.profile import avatar_url
from aggregator.networks.rss.discover import AccountFeed, discover_feed


def claims(text: str) -> bool:
    return is_bluesky_url(text) or looks_like_bluesky_handle(text)


def resolve(text: str) -> AccountFeed:
    handle = parse_bluesky_address(text)
    feed = discover_feed(feed_url(handle))
    return AccountFeed(url=feed.url, title=feed.title, handle=handle if handle.startswith("did:") else f"@{handle}",
                       avatar_url=avatar_url(handle))  # fmt: skip
