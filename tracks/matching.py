"""Matching: new posts -> the tracks they match -> ``TrackMatch`` rows and ``track.match`` events.

Called by ``aggregator.ingest.store_entries`` with the posts a batch created, inside its transaction, for
everything Chorus ingests (not only what the track's owner follows). Never a loop over all tracks: each post is
tokenized once (text.py), the tracks whose key token is among the batch's tokens are looked up in an in-process
index of all tracks by key token (index.py; one cache GET says whether it is current), and only those candidates
are checked against the posts that contain their key. A batch that matches nothing costs no statement; a batch
that matches, one on PostgreSQL (``store_matches``). Rows are made whatever the person
blocked (blocks apply when reading, so an undone block brings them back); the live event is not sent to a
person who blocked the post.
"""

from collections import defaultdict
from collections.abc import Sequence

from django.db import connection, transaction
from django.utils import timezone

from aggregator.models import Post
from replies.blocks import blocks_of
from timelines import events
from timelines.cursor import encode_cursor
from timelines.delivery import post_event_json

from . import index
from .models import Track, TrackHit, TrackMatch
from .text import Tokens, matches, tokenize

Found = dict[tuple[int, int], dict[int, str]]  # (user id, post id) -> {track id: its query}


def post_tokens(post: Post) -> Tokens:
    return tokenize(f"{post.title}\n{post.text}")


def track_new_posts(*, posts: Sequence[Post]) -> int:
    """Store the matches of these new posts and announce them after commit; returns the (person, post) pairs."""
    if not posts:
        return 0
    found = find_matches(posts=posts)
    if not found:
        return 0
    published = {post.pk: post.published for post in posts}
    store_matches(pairs=[(track_id, post_id) for (_, post_id), hits in found.items() for track_id in hits])
    order = sorted(found, key=lambda pair: (published[pair[1]], pair[1]))  # oldest first, as post.new
    matched = {post_id for _, post_id in found}
    by_id = {post.pk: post for post in posts if post.pk in matched}
    transaction.on_commit(lambda: announce_matches(pairs=[(pair, found[pair]) for pair in order], posts=by_id),
                          robust=True)  # fmt: skip
    return len(found)


def find_matches(*, posts: Sequence[Post]) -> Found:
    """Which people's tracks these posts match: candidates from the in-process index by the posts' tokens,
    phrases checked on those only."""
    tokens = {post.pk: post_tokens(post) for post in posts}
    with_key: dict[str, list[int]] = defaultdict(list)
    for post_id, keys in tokens.items():
        for key in keys.keys:
            with_key[key].append(post_id)
    found: Found = defaultdict(dict)
    for key, tracks in index.candidates(with_key).items():
        for track in tracks:
            for post_id in with_key[key]:
                if track.required <= tokens[post_id].keys and matches(track.terms, tokens[post_id]):
                    found[(track.user_id, post_id)][track.id] = track.query
    return dict(found)


def store_matches(*, pairs: Sequence[tuple[int, int]]) -> None:
    """Store (track id, post id) matches. The statements join the tracks table, so a track deleted since the
    index was read makes no row (and cannot fail the ingest's commit with a foreign key). PostgreSQL: one
    statement (the hits take the new matches' ids from the match INSERT's RETURNING); other databases: two."""
    if not pairs:
        return
    quote = connection.ops.quote_name
    tables = {"match": quote(TrackMatch._meta.db_table), "hit": quote(TrackHit._meta.db_table),
              "track": quote(Track._meta.db_table), "post": quote(Post._meta.db_table),
              "values": ", ".join(["(%s, %s)"] * len(pairs))}  # fmt: skip
    values = [number for pair in pairs for number in pair]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_STORE_ONCE.format(**tables), [*values, False, timezone.now()])
            return
        cursor.execute(_STORE_MATCHES.format(**tables), [False, timezone.now(), *values])
        cursor.execute(_STORE_HITS.format(**tables), values)


# The hits take the new matches' ids from RETURNING (the statement's snapshot does not show the rows its own
# INSERT makes); a match that was already there (the post matched again) is found by its unique (user, post).
_STORE_ONCE = (
    "WITH found AS (SELECT t.id AS track_id, t.user_id, p.id AS post_id, p.published FROM (VALUES {values}) v "
    "JOIN {track} t ON t.id = v.column1 JOIN {post} p ON p.id = v.column2 WHERE p.retracted_at IS NULL), "
    "made AS (INSERT INTO {match} (user_id, post_id, published, is_read, created_at) "
    "SELECT DISTINCT user_id, post_id, published, %s, %s FROM found "
    "ON CONFLICT (user_id, post_id) DO NOTHING RETURNING id, user_id, post_id) "
    "INSERT INTO {hit} (track_id, match_id) SELECT f.track_id, COALESCE(n.id, m.id) FROM found f "
    "LEFT JOIN made n ON n.user_id = f.user_id AND n.post_id = f.post_id "
    "LEFT JOIN {match} m ON m.user_id = f.user_id AND m.post_id = f.post_id "
    "WHERE COALESCE(n.id, m.id) IS NOT NULL ON CONFLICT (track_id, match_id) DO NOTHING"
)
_STORE_MATCHES = (
    "INSERT INTO {match} (user_id, post_id, published, is_read, created_at) "
    "SELECT DISTINCT t.user_id, p.id, p.published, %s, %s FROM (VALUES {values}) v "
    "JOIN {track} t ON t.id = v.column1 JOIN {post} p ON p.id = v.column2 WHERE p.retracted_at IS NULL "
    "ON CONFLICT (user_id, post_id) DO NOTHING"  # (the WHERE: SQLite reads an INSERT ... SELECT's ON CONFLICT only after one)
)
_STORE_HITS = (
    "INSERT INTO {hit} (track_id, match_id) SELECT t.id, m.id FROM (VALUES {values}) v "
    "JOIN {track} t ON t.id = v.column1 JOIN {match} m ON m.user_id = t.user_id AND m.post_id = v.column2 "
    "WHERE t.id IS NOT NULL ON CONFLICT (track_id, match_id) DO NOTHING"
)


def announce_matches(*, pairs: list[tuple[tuple[int, int], dict[int, str]]], posts: dict[int, Post]) -> None:
    """Send ``track.match`` (oldest first) to each person, except for posts they blocked. Best effort. ``posts``
    are the matched posts as ingest made them (with their source): the event needs no query to read them."""
    shapes = {post_id: (post, post_event_json(post)) for post_id, post in posts.items()}
    blocks = blocks_of(user_ids={user_id for (user_id, _), _ in pairs})
    batch = []
    for (user_id, post_id), tracks in pairs:
        if post_id not in shapes:
            continue
        post, shape = shapes[post_id]
        if user_id in blocks and blocks[user_id].hides(post):
            continue
        event = {"type": "track.match", "tracks": [{"id": i, "query": q} for i, q in sorted(tracks.items())],
                 "post": shape, "cursor": encode_cursor(post.published, post.pk)}  # fmt: skip
        batch.append((events.user_group(user_id), {"type": events.EVENT_MESSAGE_TYPE, "event": event}))
    events.publish(batch)
