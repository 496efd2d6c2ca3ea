"""What a person types to follow an XMPP microblog or PubSub node -> the node Chorus subscribes to.

Accepted: a bare JID (``alice@example.org``: her XEP-0277 microblog), an ``xmpp:`` URI of a JID, or of a PubSub
node (``xmpp:pubsub.example.org?;node=blog``, RFC 5122 with the XEP-0060 ``node`` key).
"""

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from aggregator.networks.errors import AddressError

MICROBLOG_NODE = "urn:xmpp:microblog:0"
MAX_NODE_LENGTH = 500

# RFC 7622 is far more permissive; this is what a person types and what Chorus is prepared to store.
_LOCALPART = r"[^\s@/\"&'<>:]{1,64}"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_BARE_JID = re.compile(rf"^(?:({_LOCALPART})@)?({_DOMAIN})$")


class NotAnXmppAddress(AddressError):
    """The text looks like an XMPP address but is not a usable one; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class XmppNode:
    """A PubSub node: ``jid`` is the service (a person's bare JID for PEP), ``node`` the node's name."""

    jid: str
    node: str = MICROBLOG_NODE

    @property
    def uri(self) -> str:
        """Canonical ``xmpp:`` URI: one Source per node whatever way it was typed."""
        return f"xmpp:{self.jid}?;node={quote(self.node, safe='')}"

    @property
    def is_microblog(self) -> bool:
        return self.node == MICROBLOG_NODE


def looks_like_xmpp(text: str) -> bool:
    """True for input that the XMPP path should answer (and explain if it is malformed)."""
    text = text.strip()
    if text.lower().startswith("xmpp:"):
        return True
    return "@" in text and not text.startswith("@") and "://" not in text and "/" not in text.split("@", 1)[0]


def _bare_jid(text: str) -> str:
    match = _BARE_JID.match(text)
    if not match or "." not in match.group(2):
        raise NotAnXmppAddress(f"{text!r} is not a Jabber ID: expected name@server (e.g. alice@example.org)")
    local, domain = match.groups()
    return f"{local.lower()}@{domain.lower()}" if local else domain.lower()


def parse_xmpp_address(text: str) -> XmppNode:
    """The node behind a JID or ``xmpp:`` URI. Raises ``NotAnXmppAddress`` with what was expected."""
    text = text.strip()
    if not text.lower().startswith("xmpp:"):
        jid = _bare_jid(text)
        if "@" not in jid:
            raise NotAnXmppAddress("a bare server name is not a microblog: give name@server or an xmpp:...?;node= URI")
        return XmppNode(jid=jid)
    rest = text[5:].lstrip("/")
    path, _, query = rest.partition("?")
    jid = _bare_jid(unquote(path.split("/", 1)[0]))
    node = ""
    for pair in query.split(";"):
        key, _, value = pair.partition("=")
        if key == "node":
            node = unquote(value)
    if not node:
        if "@" not in jid:
            raise NotAnXmppAddress(f"{text!r} names a server but no node: add ?;node=<name>")
        node = MICROBLOG_NODE
    if len(node) > MAX_NODE_LENGTH or any(ch in node for ch in "\x00\n\r"):
        raise NotAnXmppAddress("the PubSub node name is too long or has control characters")
    return XmppNode(jid=jid, node=node)
