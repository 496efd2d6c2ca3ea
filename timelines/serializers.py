"""The post object, one shape for the API and the WebSocket stream (DESIGN.md, stable interfaces)."""

import functools

from django.urls import get_script_prefix, reverse

from aggregator.models import Post, Source, WebSubSubscription
from timelines.models import TimelineEntry


@functools.cache
def _avatar_path_template(script_prefix: str) -> str:
    # Every live event carries a source and reverse() is the dearest part of its JSON: resolve the pattern once
    # per script prefix (the prefix is part of what reverse() returns), fill in the id.
    return reverse("source_avatar", args=[987654321]).replace("987654321", "{}")


def source_json(source: Source) -> dict:
    """``avatar``: the source's picture as Chorus serves it (a generated one when it has none), never a remote URL."""
    return {"id": source.pk, "kind": source.kind, "title": source.display_title,
            "avatar": _avatar_path_template(get_script_prefix()).format(source.pk)}  # fmt: skip


def source_status_json(source: Source) -> dict:
    """What a follower's page shows about a source's health (the ``source.status`` event)."""
    return {
        **source_json(source),
        "status": source.status,
        "last_fetch_at": source.last_fetch_at.isoformat() if source.last_fetch_at else None,
        "next_poll_at": source.next_poll_at.isoformat() if source.next_poll_at else None,
        "last_error": source.last_error,
        "push": {"state": source.push_state, "error": source.push_error} if source.has_push else None,
        "websub": websub_status_json(source),
    }


def websub_status_json(source: Source) -> dict | None:
    """The source's WebSub push (None when its feed names no hub): state, hub, lease end, last delivery."""
    try:
        row = source.websub
    except WebSubSubscription.DoesNotExist:
        return None
    active = row.state == WebSubSubscription.State.ACTIVE
    return {
        "hub": row.hub_url, "topic": row.topic_url, "state": row.state, "reason": row.reason,
        "active_until": row.expires_at.isoformat() if active and row.expires_at else None,
        "last_delivery_at": row.last_delivery_at.isoformat() if row.last_delivery_at else None,
    }  # fmt: skip


def post_json(post: Post, *, entry: TimelineEntry | None = None) -> dict:
    data = {
        "id": post.pk,
        "url": post.shown_url,
        "title": post.title,
        "source": source_json(post.source),
        "author": {"name": post.author_name, "handle": post.author_handle, "uri": post.shown_author_uri},
        "content_html": post.content_html,
        "text": post.text,
        "published": post.published.isoformat(),
        "updated": post.updated.isoformat() if post.updated else None,
        "in_reply_to": post.shown_in_reply_to or None,
    }
    if entry is not None:
        data["read"] = entry.is_read
    return data
