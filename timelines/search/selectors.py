"""Reads of the search index, scoped to the person first: only rows of what they can see (``scopes``), newest
first, keyset-paged by the same cursors as the timeline."""

from dataclasses import dataclass, field
from functools import lru_cache

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, QuerySet
from django.db.models.expressions import RawSQL

from aggregator.models import Post, Subscription, SubscriptionTag
from timelines.cursor import decode_cursor, encode_cursor
from timelines.models import Star
from timelines.search.backends import backend
from timelines.search.query import SearchQuery, SearchQueryError, parse_query
from timelines.search.scopes import scopes
from timelines.search.text import fold, tokens
from timelines.selectors import MAX_LIMIT, older_than

__all__ = ["SearchPage", "SearchQueryError", "search_for", "matching_post_ids"]


@dataclass
class Result:
    post: Post
    is_read: bool
    starred: bool = False


@dataclass
class SearchPage:
    query: SearchQuery
    results: list[Result] = field(default_factory=list)
    next_cursor: str | None = None


def _source_ids(*, user: AbstractBaseUser, query: SearchQuery) -> set[int] | None:
    """The sources ``source:`` and ``tag:`` leave (None: no such operator), read from the person's own list and
    matched in Python with the index's folding, so both databases agree."""
    if not (query.sources or query.tags):
        return None
    allowed: set[int] | None = None
    if query.sources:
        titles = Subscription.objects.filter(user=user).values_list("source_id", "title", "source__title",
                                                                       "source__address")  # fmt: skip
        found = set()
        for source_id, own, title, address in titles:
            words = _title_words(f"{own} {title or address}")
            if all(str(source_id) == value or f" {value} " in words for value in query.sources):
                found.add(source_id)
        allowed = found
    if query.tags:
        tagged: dict[int, set[str]] = {}
        rows = SubscriptionTag.objects.filter(subscription__user=user).values_list("subscription__source_id", "name")
        for source_id, name in rows:
            tagged.setdefault(source_id, set()).add(fold(name))
        found = {source_id for source_id, names in tagged.items() if all(tag in names for tag in query.tags)}
        allowed = found if allowed is None else allowed & found
    return allowed


@lru_cache(maxsize=20_000)
def _title_words(title: str) -> str:
    """A title's folded words between spaces (titles rarely change: ``source:`` folds a thousand per search)."""
    return " " + " ".join(tokens(title)) + " "


def _filtered(rows: QuerySet, *, user: AbstractBaseUser, query: SearchQuery, source_ids: set[int] | None) -> QuerySet:
    if source_ids is not None:
        # rows that carry their source (timeline rows) filter on it: a single source is then an equality on
        # their (user, source, published) index
        column = "source_id" if any(f.name == "source" for f in rows.model._meta.fields) else "post__source_id"
        rows = rows.filter(**{column: next(iter(source_ids))} if len(source_ids) == 1 else {f"{column}__in": source_ids})
    if query.unread:
        rows = rows.filter(is_read=False)
    if query.starred:
        rows = rows.filter(Exists(Star.objects.filter(user=user, post_id=OuterRef("post_id"))))
    if query.before:
        rows = rows.filter(published__lt=query.before)
    if query.after:
        rows = rows.filter(published__gte=query.after)
    if query.has_text or query.lang:
        column = f"{connection.ops.quote_name(rows.model._meta.db_table)}.{connection.ops.quote_name('post_id')}"
        sql, params = backend(connection.vendor).condition(query, post_column=column)
        rows = rows.filter(RawSQL(sql, params, output_field=BooleanField()))
    return rows


def search_for(*, user: AbstractBaseUser, q: str, before: str | None = None, limit: int = 50) -> SearchPage:
    """One page of what the person can see that matches ``q``, newest first (``before``: the previous page's
    ``next_cursor``). Raises ``SearchQueryError`` (a message for the person) and ``BadCursor``."""
    query = parse_query(q)
    page = SearchPage(query=query)
    limit = max(1, min(limit, MAX_LIMIT))
    position = decode_cursor(before) if before else None
    source_ids = _source_ids(user=user, query=query)
    if query.is_empty or source_ids == set():
        return page
    # Each scope's newest matches, limit + 1 of each, merged: a post seen in several scopes shows once.
    branches = []
    for scope in scopes():
        rows = _filtered(scope.rows(user), user=user, query=query, source_ids=source_ids)
        if position:
            rows = rows.filter(older_than(*position))
        found = list(rows.select_related("post", "post__source").order_by("-published", "-post_id")[: limit + 1])
        branches.append(found)
    merged: dict[int, Result] = {}
    for row in sorted((row for branch in branches for row in branch), key=lambda r: (r.published, r.post_id),
                      reverse=True):  # fmt: skip
        if row.post_id not in merged:
            merged[row.post_id] = Result(post=row.post, is_read=row.is_read)
        elif not row.is_read:  # unread anywhere is unread
            merged[row.post_id].is_read = False
    results = list(merged.values())
    # A branch that had more rows than it gave may hide posts older than its last one: stop there.
    cut = [(b[-1].published, b[-1].post_id) for b in branches if len(b) > limit]
    if cut:
        newest_cut = max(cut)
        results = [r for r in results if (r.post.published, r.post.pk) >= newest_cut]
    more = bool(cut) or len(results) > limit
    page.results = results[:limit]
    if more and page.results:
        last = page.results[-1].post
        page.next_cursor = encode_cursor(last.published, last.pk)
    starred = set(Star.objects.filter(user=user, post_id__in=[r.post.pk for r in page.results])
                  .values_list("post_id", flat=True))  # fmt: skip
    for result in page.results:
        result.starred = result.post.pk in starred
    return page


def matching_post_ids(*, q: str, limit: int = 500) -> list[int]:
    """Every stored post whose words match ``q`` (words and phrases only; anyone's, not a person's), newest
    first: what a new track shows at once. Raises ``SearchQueryError``."""
    query = parse_query(q)
    if not query.terms:
        return []
    sql, params = backend(connection.vendor).match_all(query)
    from_index = Post.objects.filter(RawSQL(f"{connection.ops.quote_name('aggregator_post')}.id IN ({sql})", params,
                                            output_field=BooleanField()), retracted_at__isnull=True)  # fmt: skip
    return list(from_index.order_by("-published", "-id").values_list("id", flat=True)[:limit])
