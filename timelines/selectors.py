"""Reads of a person's timeline. Every query starts from the person: nobody sees another's rows."""

import base64
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from aggregator.models import Subscription, SubscriptionTag
from timelines import unread_cache
from timelines.blocks import blocked, blocks_anything
from timelines.cursor import BadCursor, decode_cursor, encode_cursor
from timelines.models import Block, Star, TimelineEntry

MAX_LIMIT = 200


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    next_cursor: str | None


def entries_in_scope(*, user: AbstractBaseUser, tag: str | None = None, source_id: int | None = None) -> QuerySet:
    entries = TimelineEntry.objects.filter(user=user)
    if source_id is not None:
        entries = entries.filter(source_id=source_id)
    if tag:
        # Resolved to a list first: with literal ids the planner sees how few sources a tag has, and a
        # one-source tag becomes an equality on the (user, source, published) index.
        tagged = tagged_source_ids(user=user, tag=tag)
        entries = entries.filter(source_id=tagged[0]) if len(tagged) == 1 else entries.filter(source_id__in=tagged)
    return entries


def tagged_source_ids(*, user: AbstractBaseUser, tag: str) -> list[int]:
    """The sources this person tagged ``tag`` (in any case: "Tech" and "tech" are one tag)."""
    return list(
        SubscriptionTag.objects.filter(subscription__user=user, name__iexact=tag)
        .values_list("subscription__source_id", flat=True)
    )


def older_than(published: datetime, post_id: int, *, inclusive: bool = False) -> Q:
    """Entries after this position in newest-first order (and the position itself when ``inclusive``)."""
    same_time = Q(post_id__lte=post_id) if inclusive else Q(post_id__lt=post_id)
    # The leading ``published <=`` gives the database an index range bound, so deep pages stay cheap.
    return Q(published__lte=published) & (Q(published__lt=published) | same_time)


def newer_than(published: datetime, post_id: int) -> Q:
    """Entries before this position in newest-first order: what arrived after it."""
    return Q(published__gte=published) & (Q(published__gt=published) | Q(post_id__gt=post_id))


def timeline_for(*, user: AbstractBaseUser, before: str | None = None, after: str | None = None, limit: int = 50,
                 tag: str | None = None, source_id: int | None = None, unread_only: bool = False,
                 oldest_first: bool = False, with_stars: bool = False) -> TimelinePage:  # fmt: skip
    """One page of the merged river. Newest first, ``before`` being the ``next_cursor`` of the previous page;
    or, with ``after`` (a client catching up on what it missed), the posts newer than that position, oldest
    first, ``next_cursor`` then being a tail cursor: past the newest returned, never null (an empty page ends).
    ``oldest_first`` reads the river the other way: the oldest posts first, ``before`` then being the previous
    page's ``next_cursor`` too (the pages go forward in time).

    ``with_stars`` sets ``post.starred`` on each entry's post, read in the same statement.

    Raises ``BadCursor`` for a cursor this module did not write, or for both cursors at once.
    """
    if before and after:
        raise BadCursor("give either `before` or `after`, not both")
    entries = river(user=user, tag=tag, source_id=source_id, read=False if unread_only else None)
    if with_stars:
        entries = entries.annotate(starred=Exists(Star.objects.filter(user_id=user.pk, post_id=OuterRef("post_id"))))
    if oldest_first and not after:
        rows, next_cursor = forward_page(entries, cursor=before, limit=limit)
    else:
        rows, next_cursor = keyset_page(entries, before=before, after=after, limit=limit)
    if with_stars:
        for row in rows:
            row.post.starred = row.starred
    return TimelinePage(entries=rows, next_cursor=next_cursor)


def forward_page(rows: QuerySet, *, cursor: str | None, limit: int) -> tuple[list, str | None]:
    """One page of rows oldest first, after ``cursor`` (the previous page's ``next_cursor``; None at the end)."""
    limit = max(1, min(limit, MAX_LIMIT))
    if cursor:
        rows = rows.filter(newer_than(*decode_cursor(cursor)))
    page = list(rows.select_related("post", "post__source").order_by("published", "post_id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return page, encode_cursor(page[-1].published, page[-1].post_id) if more else None


def newest_cursor_in(*, user: AbstractBaseUser, tag: str | None = None, source_id: int | None = None) -> str:
    """The position of the newest post of a river ("" when empty): where "mark all read" stops and where a live
    page catches up from, whatever part of the river the page shows."""
    row = (river(user=user, tag=tag, source_id=source_id).order_by("-published", "-post_id")
           .values_list("published", "post_id").first())  # fmt: skip
    return encode_cursor(*row) if row else ""


def river(*, user: AbstractBaseUser, tag: str | None = None, source_id: int | None = None,
          read: bool | None = None) -> QuerySet:  # fmt: skip
    """The entries a river shows in scope, blocked ones left out (at read time: an undone block brings posts
    back); ``read``: only read or only unread ones."""
    entries = entries_in_scope(user=user, tag=tag, source_id=source_id)
    if blocks_anything(user=user):
        entries = entries.exclude(blocked(user=user, source="source_id"))
    return entries if read is None else entries.filter(is_read=read)


@dataclass
class RefPage:
    refs: list[tuple[int, datetime]]  # (post id, published)
    next_cursor: str | None


def timeline_refs(*, user: AbstractBaseUser, limit: int, cursor: str | None = None, tag: str | None = None,
                  source_id: int | None = None, read: bool | None = None, since: datetime | None = None,
                  until: datetime | None = None, oldest_first: bool = False) -> RefPage:  # fmt: skip
    """Positions only (post id, published) of a river, for clients that sync ids first and fetch contents
    later: newest first, or ``oldest_first``; ``since``/``until`` bound ``published``; ``cursor`` is the
    previous page's ``next_cursor`` (None at the end). Raises ``BadCursor``."""
    rows = river(user=user, tag=tag, source_id=source_id, read=read)
    return refs_page(rows, limit=limit, cursor=cursor, since=since, until=until, oldest_first=oldest_first)


def refs_page(rows: QuerySet, *, limit: int, cursor: str | None = None, since: datetime | None = None,
              until: datetime | None = None, oldest_first: bool = False) -> RefPage:  # fmt: skip
    """Positions of any rows with ``published`` and ``post`` columns (timeline entries, stars), as
    ``timeline_refs`` pages them."""
    if since is not None:
        rows = rows.filter(published__gte=since)
    if until is not None:
        rows = rows.filter(published__lt=until)
    if cursor:
        rows = rows.filter(newer_than(*decode_cursor(cursor)) if oldest_first else older_than(*decode_cursor(cursor)))
    order = ("published", "post_id") if oldest_first else ("-published", "-post_id")
    refs = list(rows.order_by(*order).values_list("post_id", "published")[: limit + 1])
    more = len(refs) > limit
    refs = refs[:limit]
    return RefPage(refs, encode_cursor(refs[-1][1], refs[-1][0]) if more else None)


def entries_by_post(*, user: AbstractBaseUser, post_ids: list[int]) -> list[TimelineEntry]:
    """This person's entries of these posts (others' and unknown ids left out), with post and source loaded,
    in the order asked."""
    found = {e.post_id: e for e in TimelineEntry.objects.filter(user=user, post_id__in=post_ids)
             .select_related("post", "post__source")}  # fmt: skip
    return [found[pk] for pk in dict.fromkeys(post_ids) if pk in found]


def keyset_page(rows: QuerySet, *, before: str | None, after: str | None, limit: int) -> tuple[list, str | None]:
    """One page of rows with ``published`` and ``post`` columns (timeline entries, replies), newest first
    after ``before``, or oldest first after ``after`` with a tail cursor (see ``timeline_for``)."""
    limit = max(1, min(limit, MAX_LIMIT))
    if before:
        rows = rows.filter(older_than(*decode_cursor(before)))
    if after:
        rows = rows.filter(newer_than(*decode_cursor(after)))
    order = ("published", "post_id") if after else ("-published", "-post_id")
    page = list(rows.select_related("post", "post__source").order_by(*order)[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    if after:  # a tail cursor: where to ask next time, even when nothing newer exists yet
        next_cursor = encode_cursor(page[-1].published, page[-1].post_id) if page else after
    else:
        next_cursor = encode_cursor(page[-1].published, page[-1].post_id) if more else None
    return page, next_cursor


def cursor_of(entry: TimelineEntry) -> str:
    """The position of one entry; "mark all read" uses the newest shown entry's position."""
    return encode_cursor(entry.published, entry.post_id)


def unread_counts_for(*, user: AbstractBaseUser) -> dict[int, int]:
    """Unread posts per source id (sources with none are left out). Blocked posts are not counted: the
    sidebar counts what the river shows. Kept in the cache between writes (``unread_cache``) for people who
    block nothing."""
    return unread_cache.counts(user_id=user.pk, count=lambda: _count_unread(user), count_hidden=_hidden_counter(user))


def count_unread_again(*, user: AbstractBaseUser) -> None:
    """Count a person's unread posts again and keep the counts (the background refresh, ``unread_cache``)."""
    hidden = _hidden_counter(user, blocks=Block.objects.filter(user=user).exists())  # not a process's snapshot
    unread_cache.recount(user_id=user.pk, count=lambda: _count_unread(user), count_hidden=hidden)


def _count_unread(user: AbstractBaseUser) -> dict[int, int]:
    return _count_by_source(TimelineEntry.objects.filter(user=user, is_read=False))


def _hidden_counter(user: AbstractBaseUser, *, blocks: bool | None = None) -> Callable[[], dict[int, int]] | None:
    """For a person who blocks anything (``blocks``, else as this process's snapshot has it): what counts their
    unread posts that their blocks hide."""
    if not (blocks_anything(user=user) if blocks is None else blocks):
        return None
    # Built when asked: a page with kept counts does not count, nor compile the blocks' expressions.
    return lambda: _count_by_source(TimelineEntry.objects.filter(user=user, is_read=False)
                                    .filter(blocked(user=user, source="source_id")))  # fmt: skip


def _count_by_source(unread: QuerySet) -> dict[int, int]:
    return {row["source_id"]: row["n"] for row in unread.values("source_id").annotate(n=Count("*"))}


@dataclass
class TagSet:
    """Every tag of one person as (name, source id) pairs, in the order they were given: what the timeline's
    sidebar shows of tags, read in one query."""

    pairs: list[tuple[str, int]]

    def names(self) -> list[str]:
        """The tag names, case-insensitively sorted (as ``tags_for``)."""
        return sorted({name for name, _ in self.pairs}, key=str.casefold)

    def unread(self, per_source: dict[int, int]) -> dict[str, int]:
        """Unread posts per tag, from the per-source counts."""
        counts: Counter[str] = Counter()
        for name, source_id in self.pairs:
            counts[name] += per_source.get(source_id, 0)
        return dict(counts)

    def by_source(self, source_ids: list[int]) -> dict[int, list[str]]:
        """The tags of each of these sources (every one a key, ``[]`` when untagged)."""
        tags: dict[int, list[str]] = {source_id: [] for source_id in source_ids}
        for name, source_id in self.pairs:
            if source_id in tags:
                tags[source_id].append(name)
        return tags


def tag_set_for(*, user: AbstractBaseUser) -> TagSet:
    rows = SubscriptionTag.objects.filter(subscription__user=user).order_by("id")
    return TagSet(list(rows.values_list("name", "subscription__source_id")))


def tag_unread_counts(*, user: AbstractBaseUser, per_source: dict[int, int]) -> dict[str, int]:
    """Unread posts per tag, from the per-source counts."""
    return tag_set_for(user=user).unread(per_source)


def unread_summary(*, user: AbstractBaseUser) -> dict:
    """What the sidebar counts: ``{"total": n, "sources": {source id: n}, "tags": {name: n}}``."""
    per_source = unread_counts_for(user=user)
    return {"total": sum(per_source.values()), "sources": per_source,
            "tags": tag_unread_counts(user=user, per_source=per_source)}  # fmt: skip


@dataclass
class SubscriptionPage:
    subscriptions: list[Subscription]
    next_cursor: str | None


def subscriptions_page(*, user: AbstractBaseUser, after: str | None = None, limit: int = 100) -> SubscriptionPage:
    """One page of the person's subscriptions by source title; ``after``: the previous page's ``next_cursor``
    (an opaque position, so a follow or unfollow between pages skips or repeats nothing else).
    Raises ``BadCursor`` for a cursor this module did not write."""
    rows = Subscription.objects.filter(user=user)
    if after:
        title, subscription_id = _decode_subscription_cursor(after)
        rows = rows.filter(Q(source__title__gt=title) | Q(source__title=title, id__gt=subscription_id))
    rows = rows.select_related("source", "source__websub").prefetch_related("tags").order_by("source__title", "id")
    page = list(rows[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    last = page[-1] if page else None
    return SubscriptionPage(page, _encode_subscription_cursor(last.source.title, last.pk) if more else None)


@dataclass(frozen=True, slots=True)
class ShownSource:
    """What the sidebar shows of a source: its state, and what its picture's address is made of (the
    ``picture_src`` filter reads ``pk``, ``picture_url`` and ``display_title``, as of a ``Source``)."""

    pk: int
    display_title: str
    picture_url: str
    status: str


@dataclass(frozen=True, slots=True)
class SidebarSubscription:
    """One line of the timeline's sidebar."""

    source: ShownSource
    display_title: str  # the person's name for the source, else the source's own

    @property
    def source_id(self) -> int:
        return self.source.pk


def subscriptions_for(*, user: AbstractBaseUser, limit: int = 100) -> list[SidebarSubscription]:
    """The first ``limit`` subscriptions by source title (the sidebar's), with only what a sidebar shows of their
    sources, read as plain values: a sidebar has a hundred lines, and model instances cost more than the query."""
    rows = Subscription.objects.filter(user=user).order_by("source__title", "id")[:limit]
    shown = []
    for source_id, name, title, address, picture_url, status in rows.values_list(
        "source_id", "title", "source__title", "source__address", "source__picture_url", "source__status"
    ):
        source = ShownSource(pk=source_id, display_title=title or address, picture_url=picture_url, status=status)
        shown.append(SidebarSubscription(source=source, display_title=name or source.display_title))
    return shown


def subscription_title(*, user: AbstractBaseUser, source_id: int) -> str | None:
    """The person's name for a source they follow; None if they do not follow it."""
    subscription = Subscription.objects.filter(user=user, source_id=source_id).select_related("source").first()
    return subscription.display_title if subscription else None


def subscription_count(*, user: AbstractBaseUser) -> int:
    return Subscription.objects.filter(user=user).count()


def _encode_subscription_cursor(title: str, subscription_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([title, subscription_id]).encode()).decode().rstrip("=")


def _decode_subscription_cursor(cursor: str) -> tuple[str, int]:
    try:
        title, subscription_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):  # bad base64, JSON or shape
        raise BadCursor("cursor is malformed") from None
    if not isinstance(title, str) or type(subscription_id) is not int:
        raise BadCursor("cursor is malformed")
    return title, subscription_id


def tags_for(*, user: AbstractBaseUser, limit: int | None = None) -> list[str]:
    """The person's tag names, case-insensitively sorted; the first ``limit`` of them if given."""
    return sorted(
        SubscriptionTag.objects.filter(subscription__user=user).values_list("name", flat=True).distinct(), key=str.casefold
    )[:limit]


def newest_read(*, user: AbstractBaseUser) -> tuple[datetime, int] | None:
    """The position (published, post id) of the newest post the person has read, or None."""
    row = (TimelineEntry.objects.filter(user=user, is_read=True).order_by("-published", "-post_id")
           .values_list("published", "post_id").first())  # fmt: skip
    return tuple(row) if row else None
