"""Our things in Mastodon's shapes: a source is an Account, a post a Status, a reply a mention Notification."""

from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import escape

from aggregator.content.sanitize import safe_url
from aggregator.models import Post, Source
from compat.mastodon.ids import self_account_id, status_id

NO_DATE = "1970-01-01T00:00:00.000Z"


def iso(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z" if value else None


def acct_of(source: Source) -> str:
    """How an app shows the account: ``alice@host`` for a fediverse account, the handle for Bluesky, the JID for
    XMPP, ``name@x.com`` for X, the feed's address for a plain feed."""
    if source.kind == Source.Kind.XMPP and source.push_jid:
        return source.push_jid
    if source.kind == Source.Kind.X:
        return f"{source.address.split(':', 1)[-1]}@x.com"
    if source.remote_id.startswith("@"):
        return source.remote_id[1:]
    return source.address.split("://", 1)[-1].rstrip("/")


def _origin_and_header(request: HttpRequest) -> tuple[str, str]:
    """``scheme://host`` of the request and the accounts' header picture, worked out once per request (a page
    holds up to 80 accounts, and ``static`` reads the manifest each time)."""
    found = getattr(request, "_mastodon_urls", None)
    if found is None:
        header = request.build_absolute_uri(static("mastodon-header.png"))
        found = request._mastodon_urls = (request.build_absolute_uri("/")[:-1], header)
    return found


def account_json(request: HttpRequest, source: Source, *, statuses_count: int = 0) -> dict:
    origin, header = _origin_and_header(request)
    picture = origin + reverse("source_avatar", args=[source.pk])
    acct = acct_of(source)
    url = source.site_url or source.url
    return {
        "id": str(source.pk), "username": acct.split("@")[0][:100] or acct, "acct": acct,
        "display_name": source.display_title, "locked": False, "bot": source.kind == Source.Kind.RSS,
        "discoverable": True, "indexable": False, "group": False, "created_at": iso(source.created_at) or NO_DATE,
        "note": f"<p>{escape(source.description)}</p>" if source.description else "",
        "url": url, "uri": url, "avatar": picture, "avatar_static": picture, "header": header,
        "header_static": header,
        "followers_count": 0, "following_count": 0, "statuses_count": statuses_count,
        "last_status_at": source.last_success_at.date().isoformat() if source.last_success_at else None,
        "emojis": [], "fields": [],
    }  # fmt: skip


def self_account_json(request: HttpRequest, user, *, following_count: int) -> dict:
    """The person themselves (``verify_credentials``)."""
    profile = request.build_absolute_uri(reverse("profile", args=[user.get_username()]))
    header = request.build_absolute_uri(static("mastodon-header.png"))
    return {
        "id": self_account_id(user.pk), "username": user.get_username(), "acct": user.get_username(),
        "display_name": user.get_full_name() or user.get_username(), "locked": True, "bot": False,
        "discoverable": False, "indexable": False, "group": False, "created_at": iso(user.date_joined), "note": "",
        "url": profile, "uri": profile, "avatar": header, "avatar_static": header, "header": header,
        "header_static": header, "followers_count": 0, "following_count": following_count, "statuses_count": 0,
        "last_status_at": None, "emojis": [], "fields": [],
        "source": {"privacy": "public", "sensitive": False, "language": None, "note": "", "fields": [],
                   "follow_requests_count": 0, "indexable": False},
        "role": {"id": "-99", "name": "", "color": "", "permissions": "0", "highlighted": False},  # Mastodon's "everyone" role
    }  # fmt: skip


def content_of(post: Post) -> str:
    return content_html(title=post.title, text=post.text, html=post.content_html)


def content_html(*, title: str, text: str, html: str) -> str:
    """The sanitized content (sanitized at ingest); a feed item's title leads when the text does not repeat it."""
    title = title.strip()
    if title and not text.strip().startswith(title[:40]):
        return f"<p><strong>{escape(title)}</strong></p>{html}"
    return html or f"<p>{escape(text)}</p>"


def status_json(request: HttpRequest, post: Post, *, answers: Post | None = None, starred: bool = False,
                account: dict | None = None) -> dict:
    """``account``: the author when it is not the post's source (the person's own posts are their account);
    ``starred``: the person starred it, which is both Mastodon's favourite and its bookmark."""
    the_id, link = status_id(post.published, post.pk), post.shown_url
    # uri: the post's identity where it is a link apps may open (a guid can be any string, a script address too)
    uri = safe_url(post.guid) or link or f"{_origin_and_header(request)[0]}/api/v1/statuses/{the_id}"
    return {
        "id": the_id, "uri": uri, "url": link or None,
        "created_at": iso(post.published), "edited_at": iso(post.updated),
        "account": account or account_json(request, post.source), "content": content_of(post), "text": None,
        "visibility": "public", "sensitive": False, "spoiler_text": "", "language": None,
        "in_reply_to_id": status_id(answers.published, answers.pk) if answers else None,
        "in_reply_to_account_id": str(answers.source_id) if answers else None,
        "reblog": None, "application": None, "media_attachments": [], "mentions": [], "tags": [], "emojis": [],
        "card": None, "poll": None, "replies_count": 0, "reblogs_count": 0, "favourites_count": 0,
        "favourited": starred, "reblogged": False, "muted": False, "bookmarked": starred, "pinned": False,
        "filtered": [],
    }  # fmt: skip


def notification_json(request: HttpRequest, reply, *, answers: Post | None = None) -> dict:
    """A reply (mention or answer) is a ``mention`` notification; its id is its place in the replies' order."""
    notification_id = status_id(reply.published, reply.post_id)
    return {
        "id": notification_id, "type": "mention", "created_at": iso(reply.published),
        "group_key": f"ungrouped-{notification_id}",  # Mastodon's key for a notification grouped with no other
        "account": account_json(request, reply.post.source),
        "status": status_json(request, reply.post, answers=answers),
    }  # fmt: skip
