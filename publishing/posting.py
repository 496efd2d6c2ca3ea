"""Writing: a person's posts, stored as posts of their own Source through the ingest pipeline.

``post_create`` and ``post_delete`` run in one transaction each, which also records what the world must hear
of them (``outbound.announce``: deliveries owed to WebSub subscribers, Webmentions, the XMPP item); that work
leaves in worker tasks queued after the commit, and the sweeps find it again if a message is lost.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from aggregator.content.entry import Entry
from aggregator.content.sanitize import safe_url
from aggregator.ingest.pipeline import ingest, retract
from aggregator.models import Post
from publishing import addresses, outbound
from publishing.composing import mentioned_usernames, render_html, visible_length
from publishing.microblogs import display_name, ensure_identities, microblog_for
from publishing.models import Microblog
from replies.models import Reply
from timelines.models import TimelineEntry

User = get_user_model()


class PostError(ValueError):
    """The post cannot be written as asked; the message says why, for the person."""


class PostNotFound(LookupError):
    pass


def post_create(*, user: AbstractBaseUser, text: str, in_reply_to: int | str | None = None) -> Post:
    """Write a post (``in_reply_to``: a post id the person can see, or a URL). Raises ``PostError``."""
    text = (text or "").strip()
    if not text:
        raise PostError("A post needs some text.")
    length, most = visible_length(text), settings.CHORUS_POST_MAX_CHARS
    if length > most:
        raise PostError(f"The post is {length} characters long; the most is {most}.")
    target = reply_target(user=user, in_reply_to=in_reply_to)
    microblog = microblog_for(user)
    host, username = addresses.public_host(), user.get_username()
    local = _local_profiles(mentioned_usernames(text, host=host))
    slug, now = secrets.token_urlsafe(9), timezone.now()
    entry = Entry(
        guid=slug, url=addresses.post_url(username, slug), author_name=display_name(user),
        author_handle=addresses.handle(username), author_uri=addresses.profile_url(username),
        content_html=render_html(text, host=host, profile_of=local.get), published=now, in_reply_to=target,
    )  # fmt: skip
    with transaction.atomic():
        result = ingest(microblog.source, [entry], fetched_at=now)
        if not result.posts:
            raise PostError("The post could not be stored.")
        post = result.posts[0]
        outbound.announce(post=post, microblog=microblog)
    return post


def post_delete(*, user: AbstractBaseUser, post_id: int) -> None:
    """Delete one of the person's posts: it leaves every timeline here, its feed entry becomes a tombstone."""
    microblog = Microblog.objects.filter(user=user).select_related("source").first()
    post = None if microblog is None else Post.objects.filter(
        pk=post_id, source=microblog.source, retracted_at__isnull=True).first()  # fmt: skip
    if post is None:
        raise PostNotFound(f"You have no post {post_id}.")
    with transaction.atomic():
        retract(microblog.source, [post.guid])
        post.refresh_from_db(fields=["retracted_at"])
        outbound.announce(post=post, microblog=microblog)


def reply_target(*, user: AbstractBaseUser, in_reply_to: int | str | None) -> str:
    """The address a reply answers: a post's link (a post the person can see: on their timeline, in their
    replies, or their own), or an http(s) URL given as such."""
    if in_reply_to in (None, ""):
        return ""
    if isinstance(in_reply_to, int) or (isinstance(in_reply_to, str) and in_reply_to.isdigit()):
        post = _visible_post(user=user, post_id=int(in_reply_to))
        if post is None:
            raise PostError(f"There is no post {in_reply_to} to reply to.")
        return post.url or post.guid
    url = safe_url(str(in_reply_to).strip())
    if not url or len(url) > 2048:
        raise PostError("in_reply_to must be a post id or an http(s) URL.")
    return url


def _visible_post(*, user: AbstractBaseUser, post_id: int) -> Post | None:
    if not 0 < post_id < 2**63:
        return None
    post = Post.objects.filter(pk=post_id, retracted_at__isnull=True).select_related("source").first()
    if post is None:
        return None
    own = Microblog.objects.filter(user=user, source_id=post.source_id).exists()
    if own or TimelineEntry.objects.filter(user=user, post_id=post_id).exists() \
            or Reply.objects.filter(user=user, post_id=post_id).exists():  # fmt: skip
        return post
    return None


def _local_profiles(usernames: set[str]) -> dict[str, str]:
    """username -> profile address, for the people of this hub among ``usernames`` (their identities made, so
    the mention reaches their Replies)."""
    people = list(User.objects.filter(username__in=usernames, is_active=True)) if usernames else []
    for person in people:
        ensure_identities(person)
    return {person.get_username(): addresses.profile_url(person.get_username()) for person in people}
