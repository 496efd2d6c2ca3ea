"""Mastodon's streaming API (``/api/v1/streaming``): the ``user`` and ``hashtag`` streams, over WebSocket (a
Channels consumer) and server-sent events (an async view), both fed by our live events.

A socket or an SSE response joins the channel-layer groups our own stream joins (the person's, and the token's,
so revoking the token closes it) and turns each event into Mastodon's ``update`` or ``notification`` without
asking the database: the status is made from the event's post. Apps authenticate with their OAuth token or one
of our API tokens (``Authorization: Bearer``, ``access_token`` or the WebSocket subprotocol): never with cookies,
so the Origin does not matter.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs

from oauth2_provider.models import get_access_token_model

from accounts.tokens import live_token
from aggregator.events import EVENT_MESSAGE_TYPE, token_group, user_group
from compat.mastodon.endpoint import scope_granted
from compat.mastodon.ids import status_id
from compat.mastodon.serializers import content_html, iso
from timelines.selectors import tagged_source_ids

MAX_STREAMS = 20  # subscriptions one socket may hold
STREAMS = ("user", "user:notification", "hashtag", "hashtag:local")


def oauth_group(token_id: int) -> str:
    """The streams an OAuth access token opened: closed when the token is revoked."""
    return f"oauth.{token_id}"


@dataclass
class Listener:
    """Who listens (resolved once, when the stream opens) and to which streams."""

    user: object
    groups: tuple[str, ...]
    streams: dict[str, set[int] | None] = field(default_factory=dict)  # name -> its tag's sources (hashtag)


def listener_for(raw_token: str) -> Listener | None:
    """The person behind an API or OAuth access token that may read statuses; None for a dead or narrow one."""
    if not raw_token:
        return None
    if raw_token.startswith("chorus_"):
        api_token = live_token(raw_token)
        if api_token is None:
            return None
        return Listener(api_token.user, (user_group(api_token.user.pk), token_group(api_token.pk)))
    checksum = hashlib.sha256(raw_token.encode()).hexdigest()
    access = get_access_token_model().objects.select_related("user").filter(token_checksum=checksum).first()
    if access is None or access.is_expired() or access.user is None or not access.user.is_active:
        return None
    if not scope_granted(set(access.scope.split()), "read:statuses"):
        return None
    return Listener(access.user, (user_group(access.user.pk), oauth_group(access.pk)))


def token_from(*, query_string: bytes, headers: dict[bytes, bytes]) -> str:
    """Mastodon's three places for the token: the Authorization header, ``access_token``, the subprotocol."""
    scheme, _, token = headers.get(b"authorization", b"").decode("latin1").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    query = parse_qs(query_string.decode("latin1"))
    if query.get("access_token"):
        return query["access_token"][0]
    return headers.get(b"sec-websocket-protocol", b"").decode("latin1").split(",")[0].strip()


class StreamError(ValueError):
    pass


def subscribe(listener: Listener, *, stream: str, tag: str | None) -> str:
    """Add a stream to the listener; its name as events carry it. Raises ``StreamError``. Queries the
    database for a hashtag (the sources the person tagged so): call it off the event loop."""
    if stream not in STREAMS:
        raise StreamError(f"Unknown stream type: {stream[:40]!r} (Chorus streams user and hashtag)")
    if len(listener.streams) >= MAX_STREAMS:
        raise StreamError(f"At most {MAX_STREAMS} streams on one connection")
    if stream.startswith("hashtag"):
        tag = (tag or "").strip().lstrip("#")[:100]
        if not tag:
            raise StreamError("A hashtag stream needs a tag")
        listener.streams[f"hashtag:{tag}"] = set(tagged_source_ids(user=listener.user, tag=tag))
        return f"hashtag:{tag}"
    listener.streams[stream] = None
    return stream


def unsubscribe(listener: Listener, *, stream: str, tag: str | None) -> None:
    key = f"hashtag:{(tag or '').strip().lstrip('#')}" if stream.startswith("hashtag") else stream
    listener.streams.pop(key, None)


def mastodon_events(listener: Listener, message: dict, *, base_url: str) -> list[tuple[list[str], str, str]]:
    """(stream, event, payload) for each of the listener's streams that hears this channel message."""
    if message.get("type") != EVENT_MESSAGE_TYPE:
        return []
    event = message.get("event") or {}
    kind, out = event.get("type"), []
    if kind == "post.new":
        status = None
        for name, sources in listener.streams.items():
            if name == "user:notification":
                continue
            if sources is None or event["post"]["source"]["id"] in sources:
                status = status or json.dumps(status_from_event(event["post"], base_url=base_url))
                out.append((name.split(":", 1) if name.startswith("hashtag:") else [name], "update", status))
    elif kind == "reply.new" and ({"user", "user:notification"} & listener.streams.keys()):
        status = status_from_event(event["post"], base_url=base_url)
        note = {"id": status["id"], "type": "mention", "created_at": status["created_at"],
                "group_key": f"ungrouped-{status['id']}", "account": status["account"], "status": status}  # fmt: skip
        for name in {"user", "user:notification"} & listener.streams.keys():
            out.append(([name], "notification", json.dumps(note)))
    return out


def status_from_event(post: dict, *, base_url: str) -> dict:
    """A Status from an event's post (``timelines.serializers.post_json``), as the REST API gives it but for
    what only the database knows (what it answers, the account's address and counts)."""
    published = datetime.fromisoformat(post["published"])
    source, author = post["source"], post.get("author") or {}
    avatar = base_url + source["avatar"]
    handle = (author.get("handle") or "").lstrip("@")
    account = {
        "id": str(source["id"]), "username": (handle.split("@")[0] or source["title"])[:100],
        "acct": handle or source["title"], "display_name": source["title"], "locked": False, "bot": False,
        "discoverable": True, "indexable": False, "group": False, "created_at": iso(published), "note": "",
        "url": author.get("uri") or post.get("url") or "", "uri": author.get("uri") or post.get("url") or "",
        "avatar": avatar, "avatar_static": avatar, "header": avatar, "header_static": avatar,
        "followers_count": 0, "following_count": 0, "statuses_count": 0, "last_status_at": None,
        "emojis": [], "fields": [],
    }  # fmt: skip
    return {
        "id": status_id(published, post["id"]), "uri": post.get("url") or "", "url": post.get("url") or None,
        "created_at": iso(published), "edited_at": None, "account": account,
        "content": content_html(title=post.get("title") or "", text=post.get("text") or "",
                                html=post.get("content_html") or ""),
        "text": None, "visibility": "public", "sensitive": False, "spoiler_text": "", "language": None,
        "in_reply_to_id": None, "in_reply_to_account_id": None, "reblog": None, "application": None,
        "media_attachments": [], "mentions": [], "tags": [], "emojis": [], "card": None, "poll": None,
        "replies_count": 0, "reblogs_count": 0, "favourites_count": 0, "favourited": False, "reblogged": False,
        "muted": False, "bookmarked": False, "pinned": False, "filtered": [],
    }  # fmt: skip




