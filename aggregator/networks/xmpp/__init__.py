"""XMPP microblogs (XEP-0277) and PubSub nodes (XEP-0060), pushed to the hub's own XMPP session."""

from aggregator.networks.xmpp.address import (
    MICROBLOG_NODE,
    NotAnXmppAddress,
    XmppNode,
    looks_like_xmpp,
    parse_xmpp_address,
)
from aggregator.networks.xmpp.parse import BadItem, parse_item, parse_items

__all__ = [
    "MICROBLOG_NODE", "BadItem", "NotAnXmppAddress", "XmppNode", "looks_like_xmpp", "parse_item", "parse_items",
    "parse_xmpp_address",
]  # fmt: skip
