"""The networks Chorus speaks, by kind: how each one's addresses are told apart and resolved.

This table is the one place a network is added (beside its own package): the follow box, previews, subscriptions
and imports ask it rather than switching on kinds. Order matters: the first network that claims a text gets it
(``xmpp:`` URIs first, a bare ``name@host`` JID only after the account forms), and a text nobody claims is a site
or feed URL.
"""

from collections.abc import Callable
from dataclasses import dataclass

from aggregator.networks.bluesky import follow as bluesky
from aggregator.networks.fediverse import follow as fediverse
from aggregator.networks.rss.discover import DiscoveredFeed, discover_feed
from aggregator.networks.x import follow as x
from aggregator.networks.x.parse import XUser
from aggregator.networks.xmpp.address import XmppNode, looks_like_xmpp, parse_xmpp_address

Target = XmppNode | XUser | DiscoveredFeed  # what following an address means (a feed may be an ``AccountFeed``)


@dataclass(frozen=True)
class Network:
    kind: str  # the follow box's name for it: url, xmpp, fediverse, bluesky, x
    claims: Callable[[str], bool]  # the text is one of its addresses (no I/O)
    resolve: Callable[[str], Target]  # what to follow (may fetch); raises AddressError, DiscoveryError, BlockedURL


NETWORKS: tuple[Network, ...] = (
    Network("xmpp", lambda text: text.lower().startswith("xmpp:"), parse_xmpp_address),
    Network("fediverse", fediverse.claims, fediverse.resolve),
    Network("bluesky", bluesky.claims, bluesky.resolve),
    Network("x", x.claims, x.resolve),
    Network("xmpp", looks_like_xmpp, parse_xmpp_address),
)
FEEDS = Network("url", lambda _text: True, discover_feed)  # anything else: a site or feed URL


def network_for(text: str) -> Network:
    """The network whose address ``text`` is (``FEEDS`` when none claims it)."""
    return next((network for network in NETWORKS if network.claims(text)), FEEDS)
