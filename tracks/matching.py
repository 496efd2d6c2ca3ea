"""Matching: new posts -> the tracks they match -> ``TrackMatch`` rows and ``track.match`` events.

Called by the ingest pipeline (``aggregator.ingest.pipeline``) with the posts a batch created, inside its transaction, for
everything Chorus ingests (not only what the track's owner follows). Never a loop over all tracks: each post is
tokenized once (text.py), the tracks whose key token is among the batch's tokens are looked up in an in-process
index of all tracks by key token (index.py; one cache GET says whether it is current), and only those candidates
are checked against the posts that contain their key. A batch that matches nothing costs no statement; the rows
of one that matches are one write (``store_matches``), which ingest sends in one statement with the replies'
(``aggregator.db.bulk_rows.WriteBatch``). Rows are made whatever the person
blocked (blocks apply when reading, so an undone block brings them back); the live event is not sent to a
person who blocked the post.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence

from django.db import connection

from aggregator import jobs
from aggregator.db.bulk_rows import RowsWrite, WriteBatch, joined
from aggregator.events import EVENT_MESSAGE_TYPE, Batch, EventBatch, user_group
from aggregator.events import joined as joined_events
from aggregator.models import Post
from timelines.blocks import blocks_of
from timelines.delivery import post_event_fields
from tracks import index
from tracks.models import Track, TrackMatch
from tracks.selectors import unread_matches_changed
from tracks.text import Tokens, matches, tokenize

Found = dict[tuple[int, int], dict[int, str]]  # (user id, post id) -> {track id: its query}


def post_tokens(post: Post) -> Tokens:
    return tokenize(f"{post.title}\n{post.text}")


def track_new_posts(*, posts: Sequence[Post], writes: WriteBatch | None = None,
                    events: EventBatch | None = None) -> int:  # fmt: skip
    """Store the matches of these new posts and announce them after commit; returns the (person, post) pairs.
    With ``writes``, the rows are stored (and the matches announced) when the caller flushes it; with
    ``events``, the ``track.match`` events go with the caller's batch."""
    if not posts:
        return 0
    found = find_matches(posts=posts)
    if not found:
        return 0
    by_id = {post.pk: post for post in posts}
    order = sorted(found, key=lambda pair: (by_id[pair[1]].published, pair[1]))  # oldest first, as post.new
    matched = {post_id: by_id[post_id] for _, post_id in found}

    with joined_events(events) as announced:

        def stored(_rows) -> None:
            unread_matches_changed(user_ids={user_id for user_id, _ in found})
            announced.add(lambda: announce_matches(pairs=[(pair, found[pair]) for pair in order], posts=matched))
            # the people's notification destinations hear of them through replies, by job name
            told = []
            for user_id, post_id in order:
                track_id = min(found[(user_id, post_id)])
                told.append([user_id, post_id, track_id, found[(user_id, post_id)][track_id], index.alert_of(track_id)])
            jobs.enqueue_on_commit("replies.tasks.notify_track_matches", told)

        store_matches(matches=[(track_id, by_id[post_id]) for (_, post_id), hits in found.items() for track_id in hits],
                      writes=writes, then=stored)  # fmt: skip
    return len(found)


def find_matches(*, posts: Sequence[Post]) -> Found:
    """Which people's tracks these posts match: candidates from the in-process index by the posts' tokens; a
    candidate's posts are those of the batch holding every token it requires (set intersections, so a track
    whose other word no post has costs no per-post work); phrases are then checked on those posts only."""
    tokens = {post.pk: post_tokens(post) for post in posts}
    posts_with: dict[str, set[int]] = defaultdict(set)
    for post_id, keys in tokens.items():
        for key in keys.keys:
            posts_with[key].add(post_id)
    found: Found = defaultdict(dict)
    for track in index.candidates(set(posts_with)):
        hits = posts_with[track.key]
        for token in track.required:
            if token != track.key:
                hits = hits & posts_with[token] if token in posts_with else _NONE
                if not hits:
                    break
        for post_id in hits:
            if not track.phrases or matches(track.terms, tokens[post_id]):
                found[(track.user_id, post_id)][track.id] = track.query
    return dict(found)


_NONE: frozenset[int] = frozenset()


def store_matches(*, matches: Sequence[tuple[int, Post]], writes: WriteBatch | None = None,
                  then: Callable[[list], None] | None = None) -> None:  # fmt: skip
    """Store (track id, post) matches in one statement (or in ``writes``' one): a row each, ``first`` on the
    person's lowest matching track id of each post; ``then`` runs after it. The statement takes the person from
    the tracks table, so a track deleted since the index was read makes no row (the rows have no database
    foreign key that would catch it)."""
    if not matches:
        return
    quote = connection.ops.quote_name
    sql = _STORE.format(match=quote(TrackMatch._meta.db_table), track=quote(Track._meta.db_table), rows="{rows}")
    write = RowsWrite(name="chorus_store_track_matches", sql=sql, scalars=[(False, "boolean")],
                      columns=[("track", "bigint"), ("post", "bigint"), ("published", "timestamptz")],
                      rows=[(track_id, post.pk, post.published) for track_id, post in matches])  # fmt: skip
    with joined(writes) as batch:
        batch.add(write, then=then)


_STORE = (
    "INSERT INTO {match} (track_id, user_id, post_id, published, is_read, first) "
    "SELECT t.id, t.user_id, v.post, v.published, %s, "
    "row_number() OVER (PARTITION BY t.user_id, v.post ORDER BY t.id) = 1 "
    "FROM {rows} JOIN {track} t ON t.id = v.track "
    "WHERE true ON CONFLICT (track_id, published, post_id) DO NOTHING"  # (the WHERE: SQLite reads an INSERT ... SELECT's ON CONFLICT only after one)
)


def announce_matches(*, pairs: list[tuple[tuple[int, int], dict[int, str]]], posts: dict[int, Post]) -> Batch:
    """The ``track.match`` messages (oldest first) for each person, except for posts they blocked. ``posts``
    are the matched posts as ingest made them (with their source): the event needs no query to read them."""
    blocks = blocks_of(user_ids={user_id for (user_id, _), _ in pairs})
    batch = []
    for (user_id, post_id), tracks in pairs:
        post = posts.get(post_id)
        if post is None or (user_id in blocks and blocks[user_id].hides(post)):
            continue
        event = {"type": "track.match", "tracks": [{"id": i, "query": q} for i, q in sorted(tracks.items())],
                 **post_event_fields(post)}  # fmt: skip
        batch.append((user_group(user_id), {"type": EVENT_MESSAGE_TYPE, "event": event}))
    return batch
