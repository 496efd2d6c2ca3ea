"""Reads of a person's replies: every post that mentions or answers them, newest first, blocks applied."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from aggregator.models import Post
from timelines.cursor import BadCursor
from timelines.selectors import MAX_LIMIT as MAX_LIMIT  # the API validates `limit` against it
from timelines.selectors import keyset_page

from .blocks import blocked
from .matching import key_hash
from .models import KnownPost, Reply


@dataclass
class RepliesPage:
    replies: list[Reply]
    answered: dict[int, Post]  # post id of a reply -> the stored post it answers (thread view)
    next_cursor: str | None


def replies_for(*, user: AbstractBaseUser, before: str | None = None, after: str | None = None, limit: int = 50,
                unread_only: bool = False) -> RepliesPage:  # fmt: skip
    """One page of the person's replies, keyset-paged like the timeline (``before``: the previous page's
    ``next_cursor``; ``after``: catch up, oldest first, with a tail cursor). Raises ``BadCursor``."""
    if before and after:
        raise BadCursor("give either `before` or `after`, not both")
    rows = _visible(user=user)
    if unread_only:
        rows = rows.filter(is_read=False)
    page, next_cursor = keyset_page(rows, before=before, after=after, limit=limit)
    answered = answered_posts(user=user, posts=[r.post for r in page])
    for reply in page:
        reply.answers = answered.get(reply.post_id)  # the thread view: the post it answers, when stored
    return RepliesPage(replies=page, answered=answered, next_cursor=next_cursor)


def unread_replies_count(*, user: AbstractBaseUser) -> int:
    return _visible(user=user).filter(is_read=False).count()


def answered_posts(*, user: AbstractBaseUser, posts: list[Post]) -> dict[int, Post]:
    """The person's own stored post each of these answers (matched by its link or GUID), when Chorus has it:
    two indexed queries (``KnownPost``, then the posts)."""
    by_hash = {key_hash(p.in_reply_to): p.in_reply_to for p in posts if p.in_reply_to}
    if not by_hash:
        return {}
    known = dict(KnownPost.objects.filter(user=user, key_hash__in=by_hash).values_list("key_hash", "post_id"))
    stored = Post.objects.filter(pk__in=set(known.values()), retracted_at__isnull=True).select_related("source")
    by_id = {post.pk: post for post in stored}
    by_target = {by_hash[digest]: by_id[post_id] for digest, post_id in known.items() if post_id in by_id}
    return {p.pk: by_target[p.in_reply_to] for p in posts if p.in_reply_to in by_target}


def _visible(*, user: AbstractBaseUser):
    return Reply.objects.filter(user=user, post__retracted_at__isnull=True).exclude(blocked(user=user))
