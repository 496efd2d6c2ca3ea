"""Matching: new posts -> the people they mention or answer -> ``Reply`` rows and ``reply.new`` events.

Called by the ingest pipeline (``aggregator.ingest.pipeline``) with the posts a batch created, inside its transaction. The work
is batched, and asks the database nothing it can know in the process: every extracted handle is resolved
against the verified identities held there (``identities.verified_handles``: a dict lookup per mention, never
a loop over identities), at most one query finds whose posts replies answer (``KnownPost``), and two writes
store the replies and the posts written under verified identities: ingest sends them in one statement with the
track matches (``aggregator.db.bulk_rows.WriteBatch``). Rows are made whatever the person
blocked (blocks apply when reading, so an undone block brings them back); the live event is not sent to a
person who blocked the post. People who want notifications get them queued in the same transaction
(``notifications.queue_notifications``: one more statement when someone of the batch wants them).
"""

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from accounts.identities import verified_handles
from aggregator.content.mentions import Mention, author_mentions, extract_mentions
from aggregator.db.bulk_rows import RowsWrite, WriteBatch, joined
from aggregator.events import EVENT_MESSAGE_TYPE, Batch, EventBatch, user_group
from aggregator.events import joined as joined_events
from aggregator.models import Post
from replies.models import KnownPost, Reply
from replies.notifications import queue_notifications
from timelines.blocks import blocks_of
from timelines.delivery import post_event_fields

User = get_user_model()
_ACCOUNT_KINDS = {"x", "fediverse", "bluesky", "xmpp"}


def match_posts(*, post_ids: Sequence[int]) -> int:
    """Find the people these posts mention or answer; store their replies; announce them after commit.
    Returns the number of (person, post) pairs found."""
    if not post_ids:
        return 0
    # whole rows, with the source: the reply.new events are built from these objects after the commit
    return match_new_posts(posts=list(Post.objects.filter(pk__in=list(post_ids), retracted_at__isnull=True)
                                      .select_related("source")))  # fmt: skip


def match_new_posts(*, posts: Sequence[Post], writes: WriteBatch | None = None,
                    events: EventBatch | None = None) -> int:  # fmt: skip
    """``match_posts`` for posts already in memory (ingest has just created them: no query to read them).
    With ``writes``, the rows are stored (and the replies notified and announced) when the caller flushes it;
    with ``events``, the ``reply.new`` events go with the caller's batch."""
    if not posts:
        return 0
    mentioned = {p.pk: extract_mentions(text=p.text, html=p.content_html, url=p.url) for p in posts}
    answered = {p.pk: extract_mentions(in_reply_to=p.in_reply_to) for p in posts if p.in_reply_to}
    authors = {p.pk: author_mentions(handle=p.author_handle, uri=p.author_uri) for p in posts}
    owners = _owners(set().union(*mentioned.values(), *answered.values(), *authors.values()))
    writers = {p.pk: _owners_of(authors[p.pk], owners) for p in posts}
    answered_people = _answered_people(posts, answered, writers)
    found: dict[tuple[int, int], str] = {}
    for post in posts:
        for user_id in _owners_of(mentioned[post.pk], owners) - writers[post.pk]:
            found[(user_id, post.pk)] = Reply.Reason.MENTION
        answers = _owners_of(answered.get(post.pk, set()), owners) | answered_people.get(post.in_reply_to, set())
        for user_id in answers - writers[post.pk]:
            found[(user_id, post.pk)] = Reply.Reason.REPLY
    published = {p.pk: p.published for p in posts}
    with joined_events(events) as announced, joined(writes) as batch:
        _remember_known_posts(posts, writers, batch)
        if found:
            batch.add(_replies_write(found, published),
                      then=lambda rows: _stored(found, rows, posts, published, announced))  # fmt: skip
    return len(found)


def _stored(found: dict[tuple[int, int], str], rows: list[tuple], posts: Sequence[Post],
            published: dict[int, datetime], events: EventBatch) -> None:  # fmt: skip
    """After the insert: notify and announce the replies it made (a reply told twice is told once)."""
    stored = {(user_id, post_id) for user_id, post_id in rows}
    new = {pair: reason for pair, reason in found.items() if pair in stored}
    if not new:
        return
    queue_notifications(found=new)
    pairs = sorted(new.items(), key=lambda item: (published[item[0][1]], item[0][1]))
    replied = {post_id for _, post_id in new}
    by_id = {post.pk: post for post in posts if post.pk in replied}
    events.add(lambda: announce_replies(pairs=pairs, posts=by_id))


def _replies_write(found: dict[tuple[int, int], str], published: dict[int, datetime]) -> RowsWrite:
    """Insert the replies, returning the (person, post) pairs it made (not those already there). It checks the
    people: a person deleted since the process read their identities makes no row (and cannot fail the
    ingest's commit)."""
    sql = (f"INSERT INTO {_table(Reply)} (user_id, post_id, published, reason, is_read, created_at) "
           f"SELECT v.person, v.post, v.published, v.reason, %s, %s FROM {{rows}} {_PERSON_EXISTS.format(people=_table(User))} "
           "ON CONFLICT (user_id, post_id) DO NOTHING RETURNING user_id, post_id")  # fmt: skip
    return RowsWrite(name="chorus_store_replies", sql=sql, returning=True,
                     scalars=[(False, "boolean"), (timezone.now(), "timestamptz")],
                     columns=[("person", "integer"), ("post", "bigint"), ("published", "timestamptz"), ("reason", "text")],
                     rows=[(user_id, post_id, published[post_id], reason)
                           for (user_id, post_id), reason in found.items()])  # fmt: skip


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# Keeps the rows whose person still exists, probing the people's primary key once per row. LIMIT/OFFSET keep
# the subquery a per-row probe: as a join, the plan of the prepared statement (made for any batch) hashed the
# whole people table on every batch (a sequential scan that grows with the number of people).
_PERSON_EXISTS = "WHERE EXISTS (SELECT 1 FROM {people} u WHERE u.id = v.person LIMIT 1 OFFSET 0)"


def announce_replies(*, pairs: list[tuple[tuple[int, int], str]], posts: dict[int, Post]) -> Batch:
    """The ``reply.new`` messages (oldest first) for each person, except for posts they blocked. ``posts`` are
    the posts as matching read them (with their source): the event needs no query to read them."""
    blocks = blocks_of(user_ids={user_id for (user_id, _), _ in pairs})
    batch = []
    for (user_id, post_id), reason in pairs:
        post = posts.get(post_id)
        if post is None or (user_id in blocks and blocks[user_id].hides(post)):
            continue
        event = {"type": "reply.new", "reason": reason, **post_event_fields(post)}
        batch.append((user_group(user_id), {"type": EVENT_MESSAGE_TYPE, "event": event}))
    return batch


def _owners(keys: set[Mention]) -> dict[Mention, int]:
    """The owners of these handles' verified identities. No query: they are held in the process."""
    handles = verified_handles.get()
    owners = {key: owner for key in keys if (owner := handles.owner_of(key)) is not None}
    return owners


def _owners_of(keys: set[Mention], owners: dict[Mention, int]) -> set[int]:
    return {owners[key] for key in keys if key in owners}


def _answered_people(posts: Sequence[Post], answered: dict[int, set[Mention]],
                     writers: dict[int, set[int]]) -> dict[str, set[int]]:  # fmt: skip
    """For replies whose target names no account (a blog post's link, an Atom id), the people who wrote that
    target, when Chorus stored it under their verified identity: one indexed query (``KnownPost``), plus the
    posts of this very batch. Keyed by the ``in_reply_to`` value."""
    open_targets = {
        p.in_reply_to for p in posts
        if p.in_reply_to and not any(m.kind in _ACCOUNT_KINDS for m in answered.get(p.pk, ()))
    }  # fmt: skip
    if not open_targets:
        return {}
    found: dict[str, set[int]] = defaultdict(set)
    for post in posts:
        for key in {post.url, post.guid} & open_targets:
            found[key] |= writers[post.pk]
    by_hash = {key_hash(target): target for target in open_targets}
    for digest, user_id in KnownPost.objects.filter(key_hash__in=by_hash).values_list("key_hash", "user_id"):
        found[by_hash[digest]].add(user_id)
    return dict(found)


def _remember_known_posts(posts: Sequence[Post], writers: dict[int, set[int]], writes: WriteBatch) -> None:
    """Index the links and GUIDs of posts written under verified identities, for the replies they will get
    (one write, checking the people as ``_replies_write`` does)."""
    keys = [(key_hash(key), user_id, post.pk)
            for post in posts for user_id in writers[post.pk] for key in {post.url, post.guid} if key]  # fmt: skip
    if not keys:
        return
    sql = (f"INSERT INTO {_table(KnownPost)} (key_hash, user_id, post_id) "
           f"SELECT v.key_hash, v.person, v.post FROM {{rows}} {_PERSON_EXISTS.format(people=_table(User))} "
           "ON CONFLICT (key_hash, user_id, post_id) DO NOTHING")  # fmt: skip
    writes.add(RowsWrite(name="chorus_remember_known_posts", sql=sql, rows=keys,
                         columns=[("key_hash", "text"), ("person", "integer"), ("post", "bigint")]))


def key_hash(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()
