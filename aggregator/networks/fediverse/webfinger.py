"""``@user@host`` -> WebFinger (RFC 7033) -> the account's profile page -> the feed it publishes.

Mastodon advertises the feed on the profile page (``<link rel="alternate" type="application/rss+xml">``) and
serves it at the profile URL + ``.rss``; other servers (Pleroma, Akkoma, GoToSocial...) advertise theirs the
same way. Every request goes through ``aggregator.fetch``. ``CHORUS_WEBFINGER_SCHEME`` is ``https`` except in
tests, whose servers listen on loopback over plain http.
"""

import json
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.conf import settings

from aggregator.fetch import BlockedURL, FetchError, fetch
from aggregator.networks.errors import AddressError
from aggregator.networks.rss.discover import DiscoveredFeed, alternate_links, as_feed

PROFILE_PAGE = "http://webfinger.net/rel/profile-page"
AVATAR = "http://webfinger.net/rel/avatar"
ACTIVITY_TYPES = ("application/activity+json", 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"')
MAX_JRD_BYTES = 256 * 1024
_ACCOUNT = re.compile(r"^(?:@|acct:)?([A-Za-z0-9_.~-]{1,64})@((?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z0-9-]{1,63}(?::[0-9]{1,5})?)$")


class NotAFediverseAddress(AddressError):
    """The text looks like ``@user@host`` but is not a usable one; the message says what was expected."""


class WebFingerError(AddressError):
    """The account could not be found or has no feed; the message is for the person."""


@dataclass(frozen=True, slots=True)
class Account:
    user: str
    host: str  # may carry a port (test servers)

    @property
    def handle(self) -> str:
        return f"@{self.user}@{self.host}"

    @property
    def resource(self) -> str:
        return f"acct:{self.user}@{self.host}"


@dataclass(frozen=True, slots=True)
class Profile:
    profile_page: str = ""  # the person's page, text/html
    actor: str = ""  # the ActivityPub actor (rel=self)
    xmpp_uri: str = ""  # an XMPP address the account advertises, if any
    avatar: str = ""  # http(s) URL of the account's picture (rel=http://webfinger.net/rel/avatar), if any
    aliases: tuple[str, ...] = ()  # the http(s) "aliases" of the answer (other URLs of the same person)


def parse_account(text: str) -> Account:
    """``@user@host`` or ``acct:user@host``. Raises ``NotAFediverseAddress``."""
    match = _ACCOUNT.match(text.strip())
    if not match:
        raise NotAFediverseAddress(f"{text.strip()!r} is not a fediverse account: expected @name@server.example")
    return Account(user=match.group(1), host=match.group(2).lower())


def _http(href: object) -> str:
    href = str(href or "").strip()
    return href if urlsplit(href).scheme in ("http", "https") else ""


def parse_jrd(body: bytes) -> Profile:
    """The links of a WebFinger answer (a JRD document) that Chorus uses. Raises ``WebFingerError``."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise WebFingerError("the WebFinger answer is not JSON") from error
    links = document.get("links") if isinstance(document, dict) else None
    if not isinstance(links, list):
        raise WebFingerError("the WebFinger answer has no links")
    page = actor = xmpp_uri = avatar = ""
    for link in links:
        if not isinstance(link, dict):
            continue
        rel, kind, href = str(link.get("rel", "")), str(link.get("type", "")), link.get("href")
        if rel == PROFILE_PAGE and not page and kind in ("", "text/html"):
            page = _http(href)
        elif rel == "self" and not actor and kind in ACTIVITY_TYPES:
            actor = _http(href)
        elif rel == AVATAR and not avatar:
            avatar = _http(href)
        elif str(href or "").startswith("xmpp:") and not xmpp_uri:
            xmpp_uri = str(href)[:2048]
    aliases = document.get("aliases")
    aliases = [str(a) for a in aliases[:20]] if isinstance(aliases, list) else []
    # an XMPP link (rel http://jabber.org/protocol/pubsub or any other) first, else an ``xmpp:`` alias
    xmpp_uri = xmpp_uri or next((a[:2048] for a in aliases if a.startswith("xmpp:")), "")
    aliases = tuple(filter(None, map(_http, aliases)))
    return Profile(profile_page=page, actor=actor, xmpp_uri=xmpp_uri, avatar=avatar, aliases=aliases)


def lookup(account: Account) -> Profile:
    """Ask the account's server about it. Raises ``WebFingerError`` or ``BlockedURL``."""
    url = (f"{settings.CHORUS_WEBFINGER_SCHEME}://{account.host}/.well-known/webfinger"
           f"?resource={quote(account.resource, safe='@:')}")  # fmt: skip
    try:
        response = fetch(url, accept="application/jrd+json, application/json;q=0.9", max_bytes=MAX_JRD_BYTES)
    except BlockedURL:
        raise
    except FetchError as error:
        if error.status in (404, 410):
            raise WebFingerError(f"{account.host} knows no account {account.handle}") from error
        raise WebFingerError(f"could not ask {account.host} about {account.handle}: {error}") from error
    return parse_jrd(response.body)


def _feed_at(url: str) -> DiscoveredFeed | None:
    try:
        response = fetch(url)
    except BlockedURL:
        raise
    except FetchError:
        return None
    return as_feed(response)


def account_feed(account: Account, *, profile: Profile | None = None) -> DiscoveredFeed:
    """The public feed of a fediverse account: the one its profile page advertises, else Mastodon's ``.rss``.

    Only these candidates are tried: guessing common paths on the server would find the server's feed, not
    the person's. ``profile``: the account's WebFinger answer, if already asked. Raises ``WebFingerError`` or
    ``BlockedURL``.
    """
    profile = profile or lookup(account)
    page = profile.profile_page or profile.actor
    if not page:
        raise WebFingerError(f"{account.host} names no profile page for {account.handle}")
    candidates = []
    try:
        response = fetch(page, accept="text/html, application/xhtml+xml;q=0.9")
    except BlockedURL:
        raise
    except FetchError:
        response = None
    if response is not None:
        found = as_feed(response)
        if found:
            return found
        candidates = alternate_links(response.body, base_url=response.url)
    candidates.append(page.rstrip("/") + ".rss")
    for url in dict.fromkeys(candidates):
        found = _feed_at(url)
        if found:
            return found
    raise WebFingerError(f"{account.handle} publishes no public feed that Chorus can follow (tried {page})")
