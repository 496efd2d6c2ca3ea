"""Keeping the search index: the ingest pipeline indexes the posts a batch created or changed (in the batch's
``WriteBatch``: the same statement as the matchers' rows on PostgreSQL) and unindexes retracted ones; the
``reindex_search`` command fills it for posts stored before it existed.

Indexing reads nothing and locks nothing but the index's own rows (an upsert keyed by post), so it never waits
on another ingest; the words are made in Python (``text``), a few microseconds per post.
"""

from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.db.models import Exists, OuterRef

from aggregator.db.bulk_rows import WriteBatch, joined
from aggregator.models import Post
from timelines.models import SearchEntry
from timelines.search.backends import IndexedPost, backend
from timelines.search.text import document, language


def _indexed(post: Post) -> IndexedPost:
    lang = language(post.language)
    doc = document(title=post.title, text=post.text, author_name=post.author_name,
                   author_handle=post.author_handle, lang=lang)  # fmt: skip
    return IndexedPost(post_id=post.pk, published=post.published, lang=lang, doc=doc)


def index_posts(*, posts: Sequence[Post], writes: WriteBatch | None = None) -> None:
    """(Re)index these posts as they are now; with ``writes``, when the caller flushes it."""
    rows = [_indexed(post) for post in posts if post.retracted_at is None]
    if not rows:
        return
    with joined(writes) as batch:
        for write in backend(connection.vendor).writes(rows):
            batch.add(write)


def unindex_posts(*, post_ids: Iterable[int]) -> int:
    """Take these posts out of the index (retracted): searches no longer find them."""
    deleted, _ = SearchEntry.objects.filter(post_id__in=list(post_ids)).delete()
    return deleted


def reindex(*, batch_size: int = 2000, only_missing: bool = True) -> Iterable[int]:
    """Index every stored post (or, ``only_missing``, those not indexed yet), a batch per transaction; yields
    the count after each batch."""
    done, last = 0, 0
    posts = Post.objects.filter(retracted_at__isnull=True).order_by("id")
    if only_missing:
        # an anti-join probing the index's primary key per post (NOT IN would hash the whole index every batch)
        posts = posts.exclude(Exists(SearchEntry.objects.filter(post_id=OuterRef("pk"))))
    fields = ("id", "title", "text", "author_name", "author_handle", "language", "published", "retracted_at")
    while batch := list(posts.filter(id__gt=last).only(*fields)[:batch_size]):
        with transaction.atomic():
            index_posts(posts=batch)
        done, last = done + len(batch), batch[-1].pk
        yield done
