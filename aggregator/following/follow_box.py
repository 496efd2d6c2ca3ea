"""The follow box: what a person typed -> what Chorus follows. One place decides, in this order:

- ``xmpp:`` URI -> XMPP node;
- ``@user@host`` / ``acct:user@host`` -> fediverse account (WebFinger -> profile -> its feed, and the XMPP
  node WebFinger advertises, if any);
- ``@name.domain``, ``*.bsky.social``, ``bsky.app/profile/...`` -> Bluesky profile feed;
- ``@name``, ``x:name``, ``x.com/...`` or ``twitter.com/...`` URLs -> X account (X API);
- ``name@host`` -> a Jabber ID's microblog (write ``@name@host`` for a fediverse account);
- a bare word (``alice``) is ambiguous: the person is asked which they meant;
- anything else -> a site or feed URL (feed discovery).
"""

from dataclasses import dataclass

from aggregator.networks.errors import AddressError
from aggregator.networks.registry import FEEDS, Target, network_for

MAX_LENGTH = 2048


class FollowBoxError(ValueError):
    """Not something Chorus can follow, or ambiguous; the message says what was expected or asks."""


@dataclass(frozen=True, slots=True)
class Typed:
    kind: str  # a ``networks.registry`` kind: url, xmpp, fediverse, bluesky, x
    text: str


def classify(text: str) -> Typed:
    """Which kind of address ``text`` is (no network I/O). Raises ``FollowBoxError`` for empty, overlong or
    ambiguous input."""
    text = text.strip()
    if not text:
        raise FollowBoxError("type what to follow: a site or feed URL, @name@server, a Bluesky handle, a Jabber ID "
                             "or @name on X")  # fmt: skip
    if len(text) > MAX_LENGTH:
        raise FollowBoxError(f"that is longer than any address ({MAX_LENGTH} characters at most)")
    network = network_for(text)
    if network is not FEEDS:
        return Typed(network.kind, text)
    if "." not in text and "/" not in text and ":" not in text:
        raise FollowBoxError(f"{text!r} is not an address. Did you mean @{text} on X, @{text}@server.example on "
                             f"the fediverse, or a site such as {text}.example?")  # fmt: skip
    return Typed(FEEDS.kind, text)


def resolve(text: str) -> Target:
    """What to follow for ``text``; this may fetch (WebFinger, the X API, feed discovery).

    Raises ``FollowBoxError``, ``DiscoveryError`` or ``BlockedURL``, each with a message for the person.
    """
    typed = classify(text)
    try:
        return network_for(typed.text).resolve(typed.text)
    except AddressError as error:
        raise FollowBoxError(str(error)) from error
