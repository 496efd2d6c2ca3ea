"""Read state: the write paths of a person's timeline."""

from collections import Counter
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import QuerySet

from aggregator import events
from timelines import unread_cache
from timelines.blocks import BlockSet, blocks_anything, blocks_of, posts_to_test
from timelines.cursor import decode_cursor
from timelines.models import TimelineEntry
from timelines.selectors import count_unread_again, entries_in_scope, older_than, unread_summary

MAX_IDS = 1000
UNREAD_COUNTS_EVENT = "unread.counts"


def send_unread_counts_on_commit(*, user: AbstractBaseUser) -> None:
    """After the commit, the person's open pages and clients get their exact unread counts: read in one tab,
    the sidebar of every other tab follows. Counted once per change the person makes, never per new post
    (``post.new`` itself means one more unread post of its source)."""

    def send() -> None:
        counts = unread_summary(user=user)
        counts["sources"] = {str(pk): n for pk, n in counts["sources"].items()}  # JSON keys (msgpack refuses ints)
        events.send_now(user_ids=[user.pk], event={"type": UNREAD_COUNTS_EVENT, **counts})

    transaction.on_commit(send, robust=True)


def recount_unread(*, user: AbstractBaseUser) -> None:
    """Count the person's unread posts again and keep the counts (the background recount, ``unread_cache``);
    their open pages and clients then get them (after a block, what it hides leaves the counts)."""
    count_unread_again(user=user)
    send_unread_counts_on_commit(user=user)


def mark_read(*, user: AbstractBaseUser, post_ids: Iterable[int], read: bool = True) -> int:
    """Mark posts read (or unread again) on this person's timeline; others' rows are never touched."""
    ids = list(post_ids)[:MAX_IDS]
    if not ids:
        return 0
    placeholders = ",".join(["%s"] * len(ids))
    # Each row changed says its source: the kept unread counts take -1 (read) or +1 (unread) on it.
    sql = (f"UPDATE {connection.ops.quote_name(TimelineEntry._meta.db_table)} SET is_read = %s "
           f"WHERE user_id = %s AND post_id IN ({placeholders}) AND is_read <> %s RETURNING post_id, source_id")  # fmt: skip
    with unread_cache.changing() as change, connection.cursor() as cursor:
        cursor.execute(sql, [read, user.pk, *ids, read])
        changed = cursor.fetchall()
        for _, source_id in changed:
            change.add(user_id=user.pk, source_id=source_id, delta=-1 if read else 1)
        if changed and blocks_anything(user=user):
            hides = blocks_of(user_ids=[user.pk]).get(user.pk, BlockSet()).hides
            for post in posts_to_test(post_id for post_id, _ in changed):
                if hides(post):
                    change.add(user_id=user.pk, source_id=post.source_id, delta=-1 if read else 1, hidden=True)
    if changed:
        send_unread_counts_on_commit(user=user)
    return len(changed)


def mark_all_read(*, user: AbstractBaseUser, up_to: str, tag: str | None = None, source_id: int | None = None) -> int:
    """Mark read everything in scope at or older than ``up_to`` (the newest post the person was shown),
    so posts that arrived after the page was drawn stay unread. Raises ``BadCursor``.
    """
    published, post_id = decode_cursor(up_to)
    entries = entries_in_scope(user=user, tag=tag, source_id=source_id).filter(is_read=False)
    entries = entries.filter(older_than(published, post_id, inclusive=True))
    with unread_cache.changing() as change:
        read_per_source = _mark_read_returning_sources(entries)
        for read_source_id, n in read_per_source.items():
            change.add(user_id=user.pk, source_id=read_source_id, delta=-n)
        if read_per_source and blocks_anything(user=user):
            change.count_again(user.pk)  # how many of them the person's blocks hid
    updated = sum(read_per_source.values())
    if updated:
        send_unread_counts_on_commit(user=user)
    return updated


def _mark_read_returning_sources(entries: QuerySet) -> Counter[int]:
    """Mark these timeline rows read in one UPDATE; how many of each source it changed. The queryset's own WHERE
    (on the one table: ``entries_in_scope`` joins nothing), so the database plans it as the ORM's update would."""
    query = entries.query
    where, params = query.get_compiler(connection=connection).compile(query.where)
    table = connection.ops.quote_name(TimelineEntry._meta.db_table)
    update = f"UPDATE {table} SET is_read = %s WHERE {where} RETURNING source_id"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # the rows stay in the database: one row per source comes back
            cursor.execute(f"WITH done AS ({update}) SELECT source_id, count(*) FROM done GROUP BY source_id",
                           [True, *params])  # fmt: skip
            return Counter(dict(cursor.fetchall()))
        cursor.execute(update, [True, *params])
        return Counter(source_id for (source_id,) in cursor.fetchall())
