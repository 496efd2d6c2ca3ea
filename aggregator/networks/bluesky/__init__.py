"""Bluesky accounts: followed through the public RSS feed of their profile (``/profile/<handle>/rss``); their
picture from the public AppView (``profile``)."""

from aggregator.networks.bluesky.address import (
    NotABlueskyAddress,
    feed_url,
    is_bluesky_url,
    looks_like_bluesky_handle,
    parse_bluesky_address,
)

__all__ = ["NotABlueskyAddress", "feed_url", "is_bluesky_url", "looks_like_bluesky_handle", "parse_bluesky_address"]
