"""Reads of the public microblog: a person's posts (newest first, by keyset cursor), one post and its
thread, followers."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.utils import timezone

from aggregator.models import Post, Subscription
from publishing import addresses
from publishing.models import HubSubscription, Microblog
from replies.models import Reply
from timelines.cursor import decode_cursor, encode_cursor
from timelines.models import TimelineEntry

User = get_user_model()
PAGE_SIZE = 20


@dataclass
class PostsPage:
    posts: list[Post]
    next_cursor: str | None


def person_named(username: str) -> AbstractBaseUser | None:
    return User.objects.filter(username=username, is_active=True).first()


def microblog_of(user: AbstractBaseUser) -> Microblog | None:
    return Microblog.objects.filter(user=user).select_related("source").first()


def posts_of(*, user: AbstractBaseUser, before: str | None = None, limit: int = PAGE_SIZE,
             with_deleted: bool = False) -> PostsPage:  # fmt: skip
    """The person's posts, newest first; ``with_deleted`` keeps the tombstones (the feed lists them)."""
    microblog = microblog_of(user)
    if microblog is None:
        return PostsPage([], None)
    query = Post.objects.filter(source=microblog.source).select_related("source")
    if not with_deleted:
        query = query.filter(retracted_at__isnull=True)
    if before:
        published, post_id = decode_cursor(before)
        query = query.filter(Q(published__lt=published) | Q(published=published, id__lt=post_id))
    posts = list(query.order_by("-published", "-id")[: limit + 1])
    more = len(posts) > limit
    posts = posts[:limit]
    return PostsPage(posts, encode_cursor(posts[-1].published, posts[-1].pk) if more else None)


def post_of(*, user: AbstractBaseUser, slug: str) -> Post | None:
    microblog = microblog_of(user)
    if microblog is None:
        return None
    return Post.objects.filter(source=microblog.source, guid=slug).select_related("source").first()


def thread_of(post: Post, *, limit: int = 50) -> tuple[list[Post], list[Post]]:
    """What the post answers (up the chain, as far as this hub stored it) and the answers to it this hub knows."""
    above: list[Post] = []
    target, seen = post.in_reply_to, {post.pk}
    while target and len(above) < limit:
        parent = Post.objects.filter(Q(url=target) | Q(guid=target), retracted_at__isnull=True) \
            .select_related("source").exclude(pk__in=seen).first()  # fmt: skip
        if parent is None:
            break
        above.insert(0, parent)
        seen.add(parent.pk)
        target = parent.in_reply_to
    keys = [key for key in {post.url, post.guid} if key and key.startswith("http")]
    below = list(Post.objects.filter(in_reply_to__in=keys, retracted_at__isnull=True).select_related("source")
                 .order_by("published", "id")[:limit]) if keys else []  # fmt: skip
    return above, below


def local_followers(*, user: AbstractBaseUser, limit: int = 200) -> list[AbstractBaseUser]:
    microblog = microblog_of(user)
    if microblog is None:
        return []
    return list(User.objects.filter(subscriptions__source=microblog.source).order_by("username")[:limit])


def followers_count(*, user: AbstractBaseUser) -> int:
    """Local followers plus remote subscribers (each WebSub callback and each XMPP subscriber once)."""
    microblog = microblog_of(user)
    if microblog is None:
        return 0
    return Subscription.objects.filter(source=microblog.source).count() + remote_followers_count(user=user)


def remote_followers_count(*, user: AbstractBaseUser) -> int:
    """Remote subscribers: WebSub subscribers whose intent was checked and whose lease runs (each callback once,
    however often it renewed or asked again), and the JIDs subscribed to the person's XMPP node as the last
    publication found them."""
    microblog = microblog_of(user)
    if microblog is None:
        return 0
    return microblog.xmpp_subscribers + HubSubscription.objects.filter(
        microblog=microblog, state=HubSubscription.State.ACTIVE, expires_at__gt=timezone.now()).count()  # fmt: skip


def following_count(*, user: AbstractBaseUser) -> int:
    return Subscription.objects.filter(user=user).count()


def posts_count(*, user: AbstractBaseUser) -> int:
    microblog = microblog_of(user)
    return 0 if microblog is None else Post.objects.filter(source=microblog.source, retracted_at__isnull=True).count()


def person_json(user: AbstractBaseUser) -> dict:
    username = user.get_username()
    return {
        "username": username,
        "name": (user.get_full_name() or username),
        "profile_url": addresses.profile_url(username),
        "feed_url": addresses.feed_url(username),
        "followers_count": followers_count(user=user),
        "following_count": following_count(user=user),
        "posts_count": posts_count(user=user),
    }


def handle_completions(*, user: AbstractBaseUser, prefix: str, limit: int = 8) -> list[dict]:
    """Handles of the people and accounts ``user`` follows that start with ``prefix`` (``@`` optional, any
    case), for the compose box: ``[{"handle": "@bob@host", "name": "Bob"}]``, by handle."""
    prefix = prefix.strip().lstrip("@").lower()
    followed = Subscription.objects.filter(user=user).select_related("source__microblog__user")
    found: dict[str, str] = {}
    for subscription in followed.order_by("source_id")[:5000]:
        source = subscription.source
        microblog = getattr(source, "microblog", None)
        if microblog is not None:
            handle = addresses.handle(microblog.user.get_username())
        elif source.remote_id.startswith("@") or "@" in source.remote_id:
            handle = "@" + source.remote_id.lstrip("@")
        else:
            continue
        if handle[1:].lower().startswith(prefix):
            found.setdefault(handle, subscription.title or source.title or handle)
    return [{"handle": handle, "name": found[handle]} for handle in sorted(found, key=str.lower)[:limit]]


def answers_visible_to(*, user: AbstractBaseUser, post: Post, limit: int = 50) -> list[Post]:
    """The answers to ``post`` and to those answers, oldest first, among the posts the person can see (their
    timeline, their replies, their own): another person's sources stay theirs."""
    own = microblog_of(user)
    seen, found, frontier = {post.pk}, [], [post]
    while frontier and len(found) < limit:
        keys = {key for p in frontier for key in (p.url, p.guid) if key and key.startswith("http")}
        if not keys:
            break
        visible = Q(pk__in=TimelineEntry.objects.filter(user=user).values("post_id")) \
            | Q(pk__in=Reply.objects.filter(user=user).values("post_id"))  # fmt: skip
        if own is not None:
            visible |= Q(source_id=own.source_id)
        frontier = list(Post.objects.filter(visible, in_reply_to__in=keys, retracted_at__isnull=True)
                        .exclude(pk__in=seen).select_related("source").order_by("published", "id")[: limit - len(found)])  # fmt: skip
        seen.update(p.pk for p in frontier)
        found.extend(frontier)
    return sorted(found, key=lambda p: (p.published, p.pk))
