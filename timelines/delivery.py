"""Fan-out: put posts on the timelines of the people who follow their source.

``deliver_posts`` and ``backfill`` are INSERT ... SELECT statements (``deliver_posts`` on PostgreSQL inside one
statement that also reads the followers; on SQLite a second statement reads them) and are idempotent: a post
already on a timeline is skipped, so a repeated ingest never duplicates a row.
"""

from collections import Counter
from collections.abc import Sequence

from django.db import connection

from aggregator.events import Batch, EventBatch, joined, messages_for, send_on_commit
from aggregator.models import Post, Subscription
from timelines import unread_cache
from timelines.blocks import blockers, blocks_of, posts_to_test
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


def deliver_posts(*, source_id: int, post_ids: Sequence[int]) -> list[int]:
    """Add the given posts of ``source_id`` to every subscriber's timeline. Returns the subscribers (the people
    whose timelines the posts are on now), read in the same statement on PostgreSQL: the live events after the
    commit go to them without asking the database again. Each subscriber's kept unread counts take the rows
    added for them (``unread_cache``)."""
    if not post_ids:
        return []
    tables = _tables()
    followers = "SELECT user_id FROM {subscription} WHERE source_id = %s".format(**tables)
    placeholders = ",".join(["%s"] * len(post_ids))
    insert = (
        "INSERT INTO {entry} (user_id, post_id, source_id, published, is_read) "
        "SELECT f.user_id, p.id, p.source_id, p.published, %s FROM {followers} f JOIN {post} p ON p.source_id = %s "
        f"WHERE p.id IN ({placeholders}) AND p.retracted_at IS NULL "
        "ON CONFLICT (user_id, post_id) DO NOTHING RETURNING user_id"
    )
    with unread_cache.changing() as change, connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # a data-modifying WITH query runs whether or not it is read
            added = insert.format(followers="f", **tables)
            cursor.execute(f"WITH f AS ({followers}), added AS ({added}) SELECT f.user_id, coalesce(a.n, 0) FROM f "
                           "LEFT JOIN (SELECT user_id, count(*) AS n FROM added GROUP BY user_id) a "
                           "ON a.user_id = f.user_id", [source_id, False, source_id, *post_ids])  # fmt: skip
            rows = cursor.fetchall()
        else:
            cursor.execute(insert.format(followers=f"({followers})", **tables), [False, source_id, source_id, *post_ids])
            added_for = Counter(user_id for (user_id,) in cursor.fetchall())
            cursor.execute(followers, [source_id])
            rows = [(user_id, added_for[user_id]) for (user_id,) in cursor.fetchall()]
        for user_id, added_count in rows:
            change.add(user_id=user_id, source_id=source_id, delta=added_count)  # new rows are unread
        _tell_hidden(change, source_id=source_id, post_ids=post_ids, added=dict(rows))
    return [user_id for user_id, _ in rows]


def _tell_hidden(change: unread_cache.Change, *, source_id: int, post_ids: Sequence[int], added: dict[int, int]) -> None:
    """Of the rows just added, those the followers' own blocks hide (``unread_cache``: their counts leave them
    out). Most people block nothing: then no query."""
    hiders = blocks_of(user_ids=[user_id for user_id, n in added.items() if n])
    if not hiders:
        return
    posts = list(posts_to_test(post_ids))
    for user_id, blocks in hiders.items():
        hidden = sum(1 for post in posts if blocks.hides(post))
        if added[user_id] == len(posts):  # every post is new on this timeline (the pipeline's case)
            change.add(user_id=user_id, source_id=source_id, delta=hidden, hidden=True)
        elif hidden:
            change.count_again(user_id)  # which of them were added is not known here


def backfill(*, user_id: int, source_id: int, limit: int = 50) -> int:
    """Give a new subscriber the source's most recent posts, so following shows something at once."""
    sql = (
        "INSERT INTO {entry} (user_id, post_id, source_id, published, is_read) "
        "SELECT %s, p.id, p.source_id, p.published, %s FROM {post} p "
        "WHERE p.id IN (SELECT id FROM {post} WHERE source_id = %s AND retracted_at IS NULL "
        "ORDER BY published DESC, id DESC LIMIT %s) "
        "ON CONFLICT (user_id, post_id) DO NOTHING"
    ).format(**_tables())
    with unread_cache.changing() as change, connection.cursor() as cursor:
        cursor.execute(sql, [user_id, False, source_id, limit])
        added = cursor.rowcount
        change.add(user_id=user_id, source_id=source_id, delta=added)  # new rows are unread
        if added and user_id in blockers.get():
            change.count_again(user_id)  # how many of them the person's blocks hide
    return added


def withdraw(*, user_id: int, source_id: int) -> int:
    """Remove a source's posts from one person's timeline (they unfollowed it)."""
    return len(_delete_rows("user_id = %s AND source_id = %s", [user_id, source_id]))


def withdraw_posts(*, post_ids: Sequence[int]) -> list[int]:
    """Remove retracted posts from every timeline; returns the people whose timeline had them."""
    if not post_ids:
        return []
    placeholders = ",".join(["%s"] * len(post_ids))
    return sorted({user_id for user_id, _, _ in _delete_rows(f"post_id IN ({placeholders})", list(post_ids))})


def _delete_rows(where: str, params: list) -> list[tuple[int, int, bool]]:
    """Delete timeline rows; the kept unread counts lose the unread ones. Returns (user, source, read) of each."""
    sql = f"DELETE FROM {_tables()['entry']} WHERE {where} RETURNING user_id, source_id, is_read"
    with unread_cache.changing() as change, connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        hiders = blockers.get()
        for user_id, source_id, is_read in rows:
            if not is_read:
                change.add(user_id=user_id, source_id=source_id, delta=-1)
                if user_id in hiders:
                    change.count_again(user_id)  # whether it was one their blocks hide
    return rows


def announce_retracted_posts(*, post_ids: Sequence[int], user_ids: Sequence[int]) -> None:
    """After the commit, tell open pages to take these posts away (``post.retracted``)."""
    if post_ids and user_ids:
        send_on_commit(user_ids=user_ids, event={"type": "post.retracted", "post_ids": list(post_ids)})


def announce_new_posts(*, source_id: int, post_ids: Sequence[int], posts: Sequence[Post] | None = None,
                       followers: Sequence[int] | None = None, events: EventBatch | None = None) -> None:  # fmt: skip
    """After the commit, send ``post.new`` for these posts to every subscriber's live stream (with ``events``:
    in the caller's batch). ``posts``: the same posts as this transaction made them (with their source), so the
    event needs no query to read them; ``followers``: the subscribers ``deliver_posts`` gave them to, so it
    needs none to find who hears it."""
    if post_ids:
        ids = list(post_ids)
        made = list(posts) if posts is not None else None
        told = list(followers) if followers is not None else None
        # Best effort: a lost event is caught up by the page through the `after` cursor.
        with joined(events) as announced:
            announced.add(lambda: _announce(source_id=source_id, post_ids=ids, posts=made, followers=told))


def post_event_fields(post: Post) -> dict:
    """The ``post`` (``post_json``) and ``cursor`` of an event about this post, made once per Post object: the
    ``post.new``, ``reply.new`` and ``track.match`` events of one ingest batch are built from the same objects and
    share them (consumers only forward them)."""
    fields = post.__dict__.get("_event_fields")
    if fields is None:
        fields = post.__dict__["_event_fields"] = {"post": post_json(post),
                                                   "cursor": encode_cursor(post.published, post.pk)}  # fmt: skip
    return fields


def _announce(*, source_id: int, post_ids: list[int], posts: list[Post] | None, followers: list[int] | None) -> Batch:
    subscribers = followers
    if subscribers is None:
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
