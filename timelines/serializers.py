"""The post object, one shape for the API and the WebSocket stream (DESIGN.md, stable interfaces)."""

from aggregator.models import Post, Source

from .models import TimelineEntry


def source_json(source: Source) -> dict:
    return {"id": source.pk, "kind": source.kind, "title": source.display_title}


def post_json(post: Post, *, entry: TimelineEntry | None = None) -> dict:
    data = {
        "id": post.pk,
        "url": post.url,
        "title": post.title,
        "source": source_json(post.source),
        "author": {"name": post.author_name, "handle": post.author_handle, "uri": post.author_uri},
        "content_html": post.content_html,
        "text": post.text,
        "published": post.published.isoformat(),
        "updated": post.updated.isoformat() if post.updated else None,
        "in_reply_to": post.in_reply_to or None,
    }
    if entry is not None:
        data["read"] = entry.is_read
    return data
