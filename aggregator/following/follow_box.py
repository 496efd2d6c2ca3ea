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
from enum import StrEnum

from aggregator.fetch import FetchError
from aggregator.networks import bluesky, fediverse, x
from aggregator.networks.rss.discover import DiscoveredFeed, discover_feed
from aggregator.networks.xmpp import NotAnXmppAddress, XmppNode, looks_like_xmpp, parse_xmpp_address

MAX_LENGTH = 2048
RSS_BRIDGE_HINT = (
    "Alternatively follow the account through an RSS bridge: paste the feed URL an RSS-Bridge or Nitter "
    "instance gives for it (e.g. https://rss-bridge.example/?action=display&bridge=TwitterBridge"
    "&context=By+username&u={name}&format=Atom)."
)


class FollowBoxError(ValueError):
    """Not something Chorus can follow, or ambiguous; the message says what was expected or asks."""


@dataclass(frozen=True)
class AccountFeed(DiscoveredFeed):
    """The public feed of one person's account (fediverse, Bluesky): its posts carry ``handle`` as author."""

    handle: str = ""
    avatar_url: str = ""
    xmpp_uri: str = ""  # the XMPP node the account advertises (WebFinger): followed too, push first


class Kind(StrEnum):
    URL = "url"
    XMPP = "xmpp"
    FEDIVERSE = "fediverse"
    BLUESKY = "bluesky"
    X = "x"


@dataclass(frozen=True, slots=True)
class Typed:
    kind: Kind
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
    lowered = text.lower()
    if lowered.startswith("xmpp:"):
        return Typed(Kind.XMPP, text)
    if lowered.startswith("acct:") or (text.startswith("@") and text.count("@") >= 2):
        return Typed(Kind.FEDIVERSE, text)
    if bluesky.is_bluesky_url(text) or bluesky.looks_like_bluesky_handle(text):
        return Typed(Kind.BLUESKY, text)
    if text.startswith("@") or lowered.startswith("x:") or x.is_x_url(text):
        return Typed(Kind.X, text)
    if looks_like_xmpp(text):
        return Typed(Kind.XMPP, text)
    if "." not in text and "/" not in text and ":" not in text:
        raise FollowBoxError(f"{text!r} is not an address. Did you mean @{text} on X, @{text}@server.example on "
                             f"the fediverse, or a site such as {text}.example?")  # fmt: skip
    return Typed(Kind.URL, text)


def resolve(text: str) -> XmppNode | x.XUser | DiscoveredFeed:
    """What to follow for ``text``; this may fetch (WebFinger, the X API, feed discovery).

    Raises ``FollowBoxError``, ``DiscoveryError`` or ``BlockedURL``, each with a message for the person.
    """
    typed = classify(text)
    try:
        if typed.kind == Kind.XMPP:
            return parse_xmpp_address(typed.text)
        if typed.kind == Kind.FEDIVERSE:
            account = fediverse.parse_account(typed.text)
            profile = fediverse.lookup(account)
            feed = fediverse.account_feed(account, profile=profile)
            return AccountFeed(url=feed.url, title=feed.title, handle=account.handle, avatar_url=profile.avatar,
                               xmpp_uri=profile.xmpp_uri)  # fmt: skip
        if typed.kind == Kind.BLUESKY:
            handle = bluesky.parse_bluesky_address(typed.text)
            feed = discover_feed(bluesky.feed_url(handle))
            return AccountFeed(url=feed.url, title=feed.title, handle=handle if handle.startswith("did:") else f"@{handle}")
        if typed.kind == Kind.X:
            return x_account(x.parse_x_address(typed.text))
    except (NotAnXmppAddress, fediverse.NotAFediverseAddress, fediverse.WebFingerError, bluesky.NotABlueskyAddress,
            x.NotAnXAddress) as error:  # fmt: skip
        raise FollowBoxError(str(error)) from error
    return discover_feed(typed.text)


def x_account(username: str) -> x.XUser:
    """The X account behind ``username``, looked up with the operator's token."""
    if not x.configured():
        raise FollowBoxError(f"Following X accounts needs an X API token, and this hub has none (the operator sets "
                             f"X_BEARER_TOKEN). {RSS_BRIDGE_HINT.format(name=username)}")  # fmt: skip
    try:
        return x.lookup_user(username)
    except x.XRateLimited as error:
        raise FollowBoxError(f"{error}: try following @{username} again then") from error
    except x.XAccountNotFound as error:
        raise FollowBoxError(str(error)) from error
    except (x.BadXResponse, x.XNotConfigured, FetchError) as error:
        raise FollowBoxError(f"could not look up @{username} on X: {error}") from error
