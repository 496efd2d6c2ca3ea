"""Find the feed behind whatever a person pasted: a feed URL, a site URL, or a bare domain."""

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

from aggregator.content.xmlsafety import UnsafeXML
from aggregator.fetch import BlockedURL, FetchError, FetchResult, fetch, normalize_url
from aggregator.networks.rss.parse import NotAFeed, parse

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json")
COMMON_PATHS = ("/feed", "/rss", "/feed.xml", "/atom.xml", "/rss.xml", "/index.xml", "/feed/", "/blog/feed")
MAX_HEAD_BYTES = 512 * 1024


class DiscoveryError(ValueError):
    """Nothing at the address is a feed Chorus can follow; the message says what was tried."""


@dataclass(frozen=True)
class DiscoveredFeed:
    url: str
    title: str


@dataclass(frozen=True)
class AccountFeed(DiscoveredFeed):
    """The public feed of one person's account (fediverse, Bluesky): its posts carry ``handle`` as author."""

    handle: str = ""
    avatar_url: str = ""
    xmpp_uri: str = ""  # the XMPP node the account advertises (WebFinger): followed too, push first


class _AlternateLinks(HTMLParser):
    """Collects ``<link rel="alternate" type="...feed type...">`` hrefs, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        values = {name: (value or "") for name, value in attrs}
        rels = values.get("rel", "").lower().split()
        if "alternate" in rels and values.get("type", "").lower().split(";")[0].strip() in FEED_TYPES and values.get("href"):
            self.hrefs.append(values["href"].strip())


def alternate_links(html: bytes, *, base_url: str) -> list[str]:
    """Feed links a page advertises, absolute, in the order it lists them."""
    parser = _AlternateLinks()
    parser.feed(html[:MAX_HEAD_BYTES].decode("utf-8", errors="replace"))
    return list(dict.fromkeys(urljoin(base_url, href) for href in parser.hrefs))


def as_feed(response: FetchResult) -> DiscoveredFeed | None:
    """The feed a fetched document is, or None when it is not one (a page, another format)."""
    try:
        feed = parse(response.body, base_url=response.url, content_type=response.headers.get("content-type", ""))
    except (NotAFeed, UnsafeXML):
        return None
    return DiscoveredFeed(url=response.permanent_redirect or response.url, title=feed.info.title)


def _try_fetch(url: str) -> FetchResult | None:
    try:
        return fetch(url)
    except FetchError:
        return None


def discover_feed(address: str) -> DiscoveredFeed:
    """The feed at ``address``, or the one its page advertises, or one at a common path.

    Raises ``DiscoveryError`` (with what was expected) or ``aggregator.fetch.BlockedURL``.
    """
    address = address.strip()
    if "://" not in address and not address.lower().startswith("feed:"):
        address = "https://" + address
    url = normalize_url(address)
    try:
        response = fetch(url)
    except BlockedURL:
        raise  # refused by policy: the person should see exactly why
    except FetchError as error:
        raise DiscoveryError(f"could not fetch {url}: {error}") from error
    found = as_feed(response)
    if found:
        return found
    for candidate in alternate_links(response.body, base_url=response.url):
        candidate_response = _try_fetch(candidate)
        if candidate_response and (found := as_feed(candidate_response)):
            return found
    for path in COMMON_PATHS:
        candidate_response = _try_fetch(urljoin(response.url, path))
        if candidate_response and (found := as_feed(candidate_response)):
            return found
    raise DiscoveryError(f"no RSS or Atom feed found at {url} (expected a feed URL or a page that links to one)")
