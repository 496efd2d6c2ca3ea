"""Stars: a person keeps posts (kept forever: retention never removes a starred post), pages through them like
the timeline, and takes them away (JSON, an Atom feed behind an unguessable address)."""

from collections.abc import Iterator
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from aggregator.models import Post
from timelines import kept_counts
from timelines.models import Star, TimelineEntry
from timelines.search.scopes import scopes
from timelines.selectors import RefPage, keyset_page, refs_page
from timelines.serializers import post_json

FEED_SALT = "chorus.starred-feed"
STARRED = "starred"  # its kept count (kept_counts)


class StarError(LookupError):
    pass


def _visible_post(*, user: AbstractBaseUser, post_id: int) -> Post:
    for scope in scopes():
        row = scope.rows(user).filter(post_id=post_id, post__retracted_at__isnull=True).select_related("post").first()
        if row is not None:
            return row.post
    raise StarError("no such post among yours")


def star(*, user: AbstractBaseUser, post_id: int) -> Star:
    """Star a post the person can see (their timeline, replies or tracks). Raises ``StarError``."""
    post = _visible_post(user=user, post_id=post_id)
    try:
        with transaction.atomic():
            made = Star.objects.create(user=user, post=post, published=post.published)
            kept_counts.changed(STARRED, user_ids=[user.pk])
            return made
    except IntegrityError:
        return Star.objects.get(user=user, post=post)


def unstar(*, user: AbstractBaseUser, post_id: int) -> bool:
    deleted, _ = Star.objects.filter(user=user, post_id=post_id).delete()
    if deleted:
        kept_counts.changed(STARRED, user_ids=[user.pk])
    return bool(deleted)


def starred_for(*, user: AbstractBaseUser, before: str | None = None, after: str | None = None,
                limit: int = 50) -> tuple[list[Star], str | None]:  # fmt: skip
    """One page of the person's stars, newest post first (``before``: the previous page's cursor); or, with
    ``after``, the stars of newer posts, oldest first, with a tail cursor (as ``selectors.timeline_for``)."""
    rows = Star.objects.filter(user=user, post__retracted_at__isnull=True)
    return keyset_page(rows, before=before, after=after, limit=limit)


def starred_refs(*, user: AbstractBaseUser, limit: int, cursor: str | None = None, source_ids: list[int] | None = None,
                 read: bool | None = None, since: datetime | None = None, until: datetime | None = None,
                 oldest_first: bool = False) -> RefPage:  # fmt: skip
    """Positions (post id, published) of the person's stars, paged as ``selectors.timeline_refs``;
    ``source_ids``: only posts of these sources; ``read``: only stars of posts read (or unread) in the
    person's timeline. Raises ``BadCursor``."""
    rows = Star.objects.filter(user=user, post__retracted_at__isnull=True)
    if source_ids is not None:
        rows = rows.filter(post__source_id__in=source_ids)
    if read is not None:
        rows = rows.filter(Exists(TimelineEntry.objects.filter(user=user, post_id=OuterRef("post_id"), is_read=read)))
    return refs_page(rows, limit=limit, cursor=cursor, since=since, until=until, oldest_first=oldest_first)


def starred_count(*, user: AbstractBaseUser) -> int:
    """The person's stars of posts not retracted (kept between stars: ``kept_counts``)."""
    return kept_counts.kept(STARRED, user_id=user.pk,
                            count=lambda: Star.objects.filter(user=user, post__retracted_at__isnull=True).count())


def starred_ids(*, user: AbstractBaseUser, post_ids: list[int]) -> set[int]:
    return set(Star.objects.filter(user=user, post_id__in=post_ids).values_list("post_id", flat=True))


def all_starred(*, user: AbstractBaseUser):
    """Every star of the person, newest first, streamed (exports)."""
    rows = Star.objects.filter(user=user, post__retracted_at__isnull=True).select_related("post", "post__source")
    return rows.order_by("-published", "-post_id").iterator(chunk_size=500)


def feed_token(*, user: AbstractBaseUser) -> str:
    """The secret part of the person's starred feed address: signed with the site's key, so it needs no table;
    it changes with their password, which is how it is revoked."""
    signature = signing.Signer(salt=FEED_SALT).signature(f"{user.pk}:{user.password}")
    return f"{user.pk}.{signature}"


def user_for_feed_token(token: str) -> AbstractBaseUser | None:
    user_id, _, _ = token.partition(".")
    if not user_id.isdigit():
        return None
    user = get_user_model().objects.filter(pk=int(user_id), is_active=True).first()
    if user is None or not signing.constant_time_compare(token, feed_token(user=user)):
        return None
    return user



def history_rows(*, user: AbstractBaseUser) -> Iterator[dict]:
    """The person's timeline, newest first, as export rows: the post as the API gives it, read and starred."""
    starred = set(Star.objects.filter(user=user).values_list("post_id", flat=True))
    rows = TimelineEntry.objects.filter(user=user, post__retracted_at__isnull=True).select_related("post", "post__source")
    for entry in rows.order_by("-published", "-post_id").iterator(chunk_size=500):
        yield {**post_json(entry.post, entry=entry), "starred": entry.post_id in starred}
