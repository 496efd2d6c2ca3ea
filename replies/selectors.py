"""Reads of a person's replies: every post that mentions or answers them, newest first, blocks applied."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from aggregator.models import Post
from replies.matching import key_hash
from replies.models import KnownPost, Reply
from timelines.blocks import blocked
from timelines.cursor import BadCursor
from timelines.selectors import MAX_LIMIT as MAX_LIMIT  # the API validates `limit` against it
from timelines.selectors import keyset_page


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
    """The stored post each of these answers, when Chorus has it (the thread view): the person's own post
    written under a verified identity (``KnownPost``, by its link or GUID), else any post whose GUID or link is
    the target, from whatever source (the post indexes lead with them). Posts the person blocked are left out.
    Two indexed queries."""
    targets = {p.in_reply_to for p in posts if p.in_reply_to}
    if not targets:
        return {}
    by_hash = {key_hash(target): target for target in targets}
    own = {by_hash[digest]: post_id for digest, post_id
           in KnownPost.objects.filter(user=user, key_hash__in=by_hash).values_list("key_hash", "post_id")}  # fmt: skip
    others = targets - own.keys()
    wanted = Q(pk__in=set(own.values())) | Q(guid__in=others) | Q(url__in=others)
    stored = (Post.objects.filter(wanted, retracted_at__isnull=True).exclude(blocked(user=user, post=""))
              .select_related("source").order_by("id"))  # fmt: skip
    by_id, by_key = {}, {}
    for post in stored:
        by_id[post.pk] = post
        for key in (post.guid, post.url):
            by_key.setdefault(key, post)  # the first stored, if several sources carry the same entry
    by_target = {target: by_id.get(own[target]) if target in own else by_key.get(target) for target in targets}
    return {p.pk: by_target[p.in_reply_to] for p in posts
            if p.in_reply_to and by_target.get(p.in_reply_to) is not None and by_target[p.in_reply_to].pk != p.pk}


def visible_replies(*, user: AbstractBaseUser):
    """The person's replies they can see (not retracted, not blocked), one row per post."""
    return _visible(user=user)


def _visible(*, user: AbstractBaseUser):
    return Reply.objects.filter(user=user, post__retracted_at__isnull=True).exclude(blocked(user=user))


def reply_for(*, user: AbstractBaseUser, post_id: int) -> Reply | None:
    """One of the person's visible replies, by its post (its post and source loaded)."""
    return _visible(user=user).filter(post_id=post_id).select_related("post", "post__source").first()


def newest_read_reply(*, user: AbstractBaseUser) -> tuple | None:
    """The position (published, post id) of the newest reply the person has read, or None."""
    row = Reply.objects.filter(user=user, is_read=True).order_by("-published", "-post").values_list("published", "post_id").first()
    return tuple(row) if row else None
