"""The one outbound HTTP helper: every server-side fetch in Chorus goes through ``fetch()``.

It holds the defences against server-side fetch abuse in one place: only http(s), no credentials in URLs,
no private or internal addresses (checked before connecting, on every redirect hop, and again on the address
actually connected), at most five redirects, a cap on the body after decompression, and one deadline for the
whole fetch.

The package is split by subdomain: ``errors`` (what a fetch returns or raises), ``urls`` (URL and address
policy), ``guard`` (the deadline watchdog and the connections that vet their peer), ``body`` (capped, bounded
decoding), ``client`` (``fetch()`` itself: requests, redirects, statuses) and ``connections`` (the same
address rule for connections a library opens itself). Import from here, not from them.
"""

from aggregator.fetch.body import CHUNK, MAX_ENCODINGS
from aggregator.fetch.client import DEFAULT_ACCEPT, MAX_REDIRECTS, fetch
from aggregator.fetch.connections import RefusedConnection, guarded_connections
from aggregator.fetch.errors import BlockedURL, FetchError, FetchResult, TooLarge
from aggregator.fetch.urls import check_url, normalize_url

__all__ = [
    "CHUNK",
    "DEFAULT_ACCEPT",
    "MAX_ENCODINGS",
    "MAX_REDIRECTS",
    "BlockedURL",
    "FetchError",
    "FetchResult",
    "RefusedConnection",
    "TooLarge",
    "check_url",
    "fetch",
    "guarded_connections",
    "normalize_url",
]
