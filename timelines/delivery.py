"""Fan-out: put posts on the timelines of the people who follow their source.

Both functions are single INSERT ... SELECT statements (portable between PostgreSQL and SQLite) and are
idempotent: a post already on a timeline is skipped, so a repeated ingest never duplicates a row.
"""

from collections.abc import Sequence

from django.db import connection

from aggregator.events import Batch, EventBatch, joined, messages_for, send_on_commit
from aggregator.models import Post, Subscription
from timelines import unread_cache
from timelines.blocks import blocks_of
from timelines.cursor import encode_cursor
from timelines.models import TimelineEntry
from timelines.serializers import post_json


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "entry": quote(TimelineEntry._meta.db_table),
        "post": quote(Post._meta.db_table),
        "subscription": quote(Subscription._meta.db_table),
    }


def deliver_posts(*, source_id: int, post_ids: Sequence[int]) -> int:
    """Add the given posts of ``source_id`` to every subscriber's timeline. Returns the rows added."""
    if not post_ids:
        return 0
    placeholders = ",".join(["%s"] * len(post_ids))
    sql = (
        "INSERT INTO {entry} (user_id, post_id, source_id, published, is_read) "
        "SELECT s.user_id, p.id, p.source_id, p.published, %s "
        "FROM {subscription} s JOIN {post} p ON p.source_id = s.source_id "
        f"WHERE s.source_id = %s AND p.id IN ({placeholders}) AND p.retracted_at IS NULL "
        "ON CONFLICT (user_id, post_id) DO NOTHING"
    ).format(**_tables())
    with connection.cursor() as cursor:
        cursor.execute(sql, [False, source_id, *post_ids])
        added = cursor.rowcount
    if added:
        subscribers = Subscription.objects.filter(source_id=source_id).values_list("user_id", flat=True)
        unread_cache.changed(user_ids=list(subscribers))
    return added


def backfill(*, user_id: int, source_id: int, limit: int = 50) -> int:
    """Give a new subscriber the source's most recent posts, so following shows something at once."""
    sql = (
        "INSERT INTO {entry} (user_id, post_id, source_id, published, is_read) "
        "SELECT %s, p.id, p.source_id, p.published, %s FROM {post} p "
        "WHERE p.id IN (SELECT id FROM {post} WHERE source_id = %s AND retracted_at IS NULL "
        "ORDER BY published DESC, id DESC LIMIT %s) "
        "ON CONFLICT (user_id, post_id) DO NOTHING"
    ).format(**_tables())
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, False, source_id, limit])
        added = cursor.rowcount
    if added:
        unread_cache.changed(user_ids=[user_id])
    return added


def withdraw(*, user_id: int, source_id: int) -> int:
    """Remove a source's posts from one person's timeline (they unfollowed it)."""
    deleted, _ = TimelineEntry.objects.filter(user_id=user_id, source_id=source_id).delete()
    if deleted:
        unread_cache.changed(user_ids=[user_id])
    return deleted


def withdraw_posts(*, post_ids: Sequence[int]) -> list[int]:
    """Remove retracted posts from every timeline; returns the people whose timeline had them."""
    if not post_ids:
        return []
    entries = TimelineEntry.objects.filter(post_id__in=post_ids)
    user_ids = sorted(set(entries.values_list("user_id", flat=True)))
    entries.delete()
    unread_cache.changed(user_ids=user_ids)
    return user_ids


def announce_retracted_posts(*, post_ids: Sequence[int], user_ids: Sequence[int]) -> None:
    """After the commit, tell open pages to take these posts away (``post.retracted``)."""
    if post_ids and user_ids:
        send_on_commit(user_ids=user_ids, event={"type": "post.retracted", "post_ids": list(post_ids)})


def announce_new_posts(*, source_id: int, post_ids: Sequence[int], posts: Sequence[Post] | None = None,
                       events: EventBatch | None = None) -> None:  # fmt: skip
    """After the commit, send ``post.new`` for these posts to every subscriber's live stream (with ``events``:
    in the caller's batch). ``posts``: the same posts as this transaction made them (with their source), so the
    event needs no query to read them."""
    if post_ids:
        ids = list(post_ids)
        made = list(posts) if posts is not None else None
        # Best effort: a lost event is caught up by the page through the `after` cursor.
        with joined(events) as announced:
            announced.add(lambda: _announce(source_id=source_id, post_ids=ids, posts=made))


def post_event_fields(post: Post) -> dict:
    """The ``post`` (``post_json``) and ``cursor`` of an event about this post, made once per Post object: the
    ``post.new``, ``reply.new`` and ``track.match`` events of one ingest batch are built from the same objects and
    share them (consumers only forward them)."""
    fields = post.__dict__.get("_event_fields")
    if fields is None:
        fields = post.__dict__["_event_fields"] = {"post": post_json(post),
                                                   "cursor": encode_cursor(post.published, post.pk)}  # fmt: skip
    return fields


def _announce(*, source_id: int, post_ids: list[int], posts: list[Post] | None) -> Batch:
    subscribers = list(Subscription.objects.filter(source_id=source_id).values_list("user_id", flat=True))
    if not subscribers:
        return []
    if posts is None:
        posts = list(Post.objects.filter(pk__in=post_ids, retracted_at__isnull=True).select_related("source"))
    ordered = sorted(posts, key=lambda p: (p.published, p.pk))  # oldest first: pages insert each at the top
    new = [{"type": "post.new", **post_event_fields(p)} for p in ordered]
    blocks = blocks_of(user_ids=subscribers)  # people who blocked a post do not get its event
    batch = messages_for(user_ids=[u for u in subscribers if u not in blocks], events=new)
    for user_id, blocked in blocks.items():
        shown = [e for p, e in zip(ordered, new, strict=True) if not blocked.hides(p)]
        batch.extend(messages_for(user_ids=[user_id], events=shown))
    return batch
