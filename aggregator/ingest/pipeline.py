"""The ingest pipeline: what happens to a batch of entries, in order, in one transaction.

    store (dedupe, sanitize, upsert)        aggregator.ingest.store
      -> deliver (fan-out to followers)      timelines.delivery
      -> index (search, created and changed)  timelines.search.index
      -> match replies (mentions, answers)   replies.matching
      -> match tracks (keywords)             tracks.matching
      -> events, after the commit            aggregator.events.EventBatch

Every network's entries come this way (polls, XMPP pushes and history, and later WebSub and a person's own posts).
The steps share two batches passed down explicitly: ``WriteBatch`` (the search index rows and the matching rows of
replies, known posts and track matches leave in one statement) and ``EventBatch`` (post.new, reply.new and track.match leave in one publish
after the commit, post.new first). Storage calls nothing above it; only this module knows the order.
"""

from datetime import datetime

from django.db import transaction

from aggregator.content.entry import Entry, ParsedFeed
from aggregator.db.bulk_rows import WriteBatch
from aggregator.events import EventBatch
from aggregator.ingest.store import StoreResult, store_entries, tombstone_posts
from aggregator.models import Source
from replies.matching import match_new_posts
from timelines.delivery import announce_new_posts, announce_retracted_posts, deliver_posts, withdraw_posts
from timelines.search.index import index_posts, unindex_posts
from tracks.matching import track_new_posts


def ingest(source: Source, entries: list[Entry], *, fetched_at: datetime | None = None) -> StoreResult:
    """Store a batch of entries of ``source`` and run every step for the posts it created; returns which posts
    were created and updated. Inside a caller's transaction it is part of it (no savepoint of its own: a push
    would pay two round trips for it), so if it raises the caller's transaction is lost with it."""
    with transaction.atomic(savepoint=False):
        result = store_entries(source, entries, fetched_at=fetched_at)
        if result.posts or result.updated:
            writes, events = WriteBatch(), EventBatch()
            followers = deliver_posts(source_id=source.pk, post_ids=result.created)
            index_posts(posts=[*result.posts, *result.changed], writes=writes)
            announce_new_posts(source_id=source.pk, post_ids=result.created, posts=result.posts, followers=followers,
                               events=events)  # fmt: skip
            match_new_posts(posts=result.posts, writes=writes, events=events)
            track_new_posts(posts=result.posts, writes=writes, events=events)
            writes.flush()  # the matchers' reply.new and track.match are added to ``events`` here, after post.new
            events.publish_on_commit()
    return result


def retract(source: Source, guids: list[str], *, at: datetime | None = None) -> list[int]:
    """The publisher retracted these entries (by GUID): their posts leave every timeline and open page and never
    come back. Returns the ids of the posts that were visible."""
    with transaction.atomic(savepoint=False):
        visible = tombstone_posts(source, guids, at=at)
        withdrawn = withdraw_posts(post_ids=visible)
        unindex_posts(post_ids=visible)
        announce_retracted_posts(post_ids=visible, user_ids=withdrawn)
    return visible


def ingest_feed(source: Source, feed: ParsedFeed, *, entries: list[Entry] | None = None,
                fetched_at: datetime | None = None) -> StoreResult:  # fmt: skip
    """A fetched or pushed feed document: its entries (``entries``: them as the caller adjusted them) stored,
    then its RFC 6721 tombstones retracted. Only what the document names is deleted: an entry a feed (or a fat
    ping of recent entries) no longer lists stays."""
    with transaction.atomic(savepoint=False):
        result = ingest(source, feed.entries if entries is None else entries, fetched_at=fetched_at)
        if feed.deleted:
            retract(source, list(feed.deleted), at=fetched_at)
    return result
