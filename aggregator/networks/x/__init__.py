"""Twitter/X accounts over the X API v2 (the operator's bearer token), polled with ``since_id``."""

from aggregator.networks.x.address import NotAnXAddress, canonical_address, is_x_url, parse_x_address
from aggregator.networks.x.client import (
    XAccountNotFound,
    XNotConfigured,
    XRateLimited,
    configured,
    fetch_user_posts,
    lookup_user,
    lookup_users_by_id,
)
from aggregator.networks.x.parse import BadXResponse, XPage, XUser, parse_posts, parse_user, profile_username

__all__ = [
    "BadXResponse", "NotAnXAddress", "XAccountNotFound", "XNotConfigured", "XPage", "XRateLimited", "XUser",
    "canonical_address", "configured", "fetch_user_posts", "is_x_url", "lookup_user", "lookup_users_by_id",
    "parse_posts",
    "parse_user", "parse_x_address", "profile_username",
]  # fmt: skip
