"""A person's Atom feed (RFC 4287): ``rel=self`` and ``rel=hub`` (this hub, WebSub), ``thr:in-reply-to``
(RFC 4685) on replies, and RFC 6721 tombstones (``at:deleted-entry``) for deleted posts, so subscribers remove
them. The same document is the body of the hub's fat pings."""

from xml.etree import ElementTree as ET

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from aggregator.models import Post
from publishing import addresses
from publishing.microblogs import display_name

ATOM, THR, AT = "http://www.w3.org/2005/Atom", "http://purl.org/syndication/thread/1.0", \
    "http://purl.org/atompub/tombstones/1.0"  # fmt: skip
ET.register_namespace("", ATOM)
ET.register_namespace("thr", THR)
ET.register_namespace("at", AT)
CONTENT_TYPE = "application/atom+xml; charset=utf-8"


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def atom_feed(*, user: AbstractBaseUser, posts: list[Post]) -> bytes:
    """The feed of ``posts`` (newest first; retracted ones become tombstones)."""
    username, name = user.get_username(), display_name(user)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, f"{{{ATOM}}}id", addresses.feed_url(username))
    _add(feed, f"{{{ATOM}}}title", name)
    newest = max((p.updated or p.retracted_at or p.published for p in posts), default=timezone.now())
    _add(feed, f"{{{ATOM}}}updated", newest.isoformat())
    _add(feed, f"{{{ATOM}}}link", rel="self", type="application/atom+xml", href=addresses.feed_url(username))
    _add(feed, f"{{{ATOM}}}link", rel="hub", href=addresses.hub_url())
    _add(feed, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=addresses.profile_url(username))
    if node_uri := addresses.xmpp_node_uri(username):  # followers' hubs may subscribe to it for pushes
        _add(feed, f"{{{ATOM}}}link", rel="alternate", href=node_uri)
    author = _add(feed, f"{{{ATOM}}}author")
    _add(author, f"{{{ATOM}}}name", name)
    _add(author, f"{{{ATOM}}}uri", addresses.profile_url(username))
    for post in posts:
        if post.retracted_at is not None:
            _tombstone(feed, post, username)
        else:
            _entry(feed, post, username)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _entry(feed: ET.Element, post: Post, username: str) -> None:
    feed.append(entry_element(post, username))


def entry_element(post: Post, username: str, *, author_uri: str = "") -> ET.Element:
    """One post as an Atom entry: in the feed, and the payload of its XEP-0277 item. ``author_uri`` (default:
    the profile) is the item's publisher there (``xmpp:<hub JID>``), so XMPP readers keep the author's name."""
    link = addresses.post_url(username, post.guid)
    entry = ET.Element(f"{{{ATOM}}}entry")
    _add(entry, f"{{{ATOM}}}id", link)
    _add(entry, f"{{{ATOM}}}title", "")  # microblog posts have no titles; Atom wants the element
    _add(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=link)
    _add(entry, f"{{{ATOM}}}published", post.published.isoformat())
    _add(entry, f"{{{ATOM}}}updated", (post.updated or post.published).isoformat())
    author = _add(entry, f"{{{ATOM}}}author")
    _add(author, f"{{{ATOM}}}name", post.author_name or username)
    _add(author, f"{{{ATOM}}}uri", author_uri or addresses.profile_url(username))
    _add(entry, f"{{{ATOM}}}content", post.content_html, type="html")
    if post.in_reply_to:  # ref names the post answered, whatever its id; href links to it only when it can be opened
        answered = {"href": post.shown_in_reply_to} if post.shown_in_reply_to else {}
        _add(entry, f"{{{THR}}}in-reply-to", ref=post.in_reply_to, **answered)
    return entry


def _tombstone(feed: ET.Element, post: Post, username: str) -> None:
    gone = _add(feed, f"{{{AT}}}deleted-entry", ref=addresses.post_url(username, post.guid),
                when=post.retracted_at.isoformat())  # fmt: skip
    _add(gone, f"{{{AT}}}by", post.author_name or username)
