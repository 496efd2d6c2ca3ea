"""Preview before following: what the follow box's text leads to — name, avatar, last posts — stored nowhere.

It resolves the text as ``subscribe`` would (``follow_box.resolve``), then reads the newest posts the same way a
poll would (the feed, or the X API). XMPP nodes are not read here: only the hub's XMPP session can.
"""

from dataclasses import dataclass, field
from datetime import datetime

from aggregator.content.entry import Entry
from aggregator.content.sanitize import clean_html, html_to_text, safe_url
from aggregator.content.xmlsafety import UnsafeXML
from aggregator.fetch import FetchError, fetch
from aggregator.following.follow_box import resolve
from aggregator.networks import x
from aggregator.networks.rss import NotAFeed, parse
from aggregator.networks.rss.discover import AccountFeed
from aggregator.networks.xmpp import XmppNode

MAX_POSTS = 5
MAX_TEXT = 500


@dataclass
class PreviewPost:
    url: str
    title: str
    text: str
    published: datetime | None


@dataclass
class Preview:
    kind: str  # the Source kind it would be: rss, xmpp, x
    title: str
    address: str  # what Chorus would follow (feed URL, xmpp: URI, x:name)
    handle: str = ""
    avatar_url: str = ""  # the account's picture (remote: pages show ``avatars.preview_token`` of it instead)
    site_url: str = ""  # the site the feed belongs to, where its favicon is
    posts: list[PreviewPost] = field(default_factory=list)
    problem: str = ""  # why no posts are shown, when none could be read


def _posts(entries: list[Entry]) -> list[PreviewPost]:
    newest = sorted(entries, key=lambda e: e.published.timestamp() if e.published else float("-inf"), reverse=True)
    newest = newest[:MAX_POSTS]
    return [
        PreviewPost(url=safe_url(e.url, base_url=e.base_url), title=html_to_text(e.title)[:300],
                    text=html_to_text(clean_html(e.content_html, base_url=e.base_url))[:MAX_TEXT], published=e.published)
        for e in newest
    ]  # fmt: skip


def preview(*, address: str) -> Preview:
    """Raises what ``follow_box.resolve`` raises (``FollowBoxError``, ``DiscoveryError``, ``BlockedURL``)."""
    target = resolve(address)
    if isinstance(target, XmppNode):
        return Preview(kind="xmpp", title=target.jid if target.is_microblog else f"{target.node} on {target.jid}",
                       address=target.uri, handle=target.jid, problem="XMPP posts arrive once followed")  # fmt: skip
    if isinstance(target, x.XUser):
        result = Preview(kind="x", title=target.name or target.username, address=x.canonical_address(target.username),
                         handle=f"@{target.username}", avatar_url=safe_url(target.profile_image_url))  # fmt: skip
        try:
            response = x.fetch_user_posts(target.id)
            result.posts = _posts(x.parse_posts(response.body, author=target).entries)
        except (FetchError, x.BadXResponse, x.XNotConfigured) as error:
            result.problem = str(error)
        return result
    result = Preview(kind="rss", title=target.title, address=target.url)
    if isinstance(target, AccountFeed):
        result.handle, result.avatar_url = target.handle, safe_url(target.avatar_url)
    try:
        response = fetch(target.url)
        feed = parse(response.body, base_url=response.url, content_type=response.headers.get("content-type", ""))
        result.posts, result.site_url = _posts(feed.entries), safe_url(feed.info.site_url)
    except (FetchError, NotAFeed, UnsafeXML) as error:
        result.problem = str(error)
    return result
