"""Following and unfollowing: the write paths for a person's follow list."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from timelines.delivery import backfill, withdraw

from . import scheduler
from .fetch import normalize_url
from .models import Source, Subscription, SubscriptionTag
from .networks.rss.discover import discover_feed
from .opml import OPMLFeed, read_opml, write_opml

MAX_TAGS = 20
MAX_TAG_LENGTH = 100


class SubscriptionError(ValueError):
    """The request cannot be done; the message is for the person."""


class SubscriptionNotFound(SubscriptionError):
    """No such subscription for this person (someone else's counts as none)."""


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Tags as a person typed them, trimmed and deduplicated (case-insensitively), in their order."""
    seen: dict[str, str] = {}
    for tag in tags:
        name = " ".join(str(tag).split())
        if not name:
            continue
        if len(name) > MAX_TAG_LENGTH:
            raise SubscriptionError(f"a tag can be at most {MAX_TAG_LENGTH} characters")
        seen.setdefault(name.casefold(), name)
    if len(seen) > MAX_TAGS:
        raise SubscriptionError(f"at most {MAX_TAGS} tags per subscription")
    return list(seen.values())


def source_for_feed_url(url: str, *, title: str = "") -> tuple[Source, bool]:
    """The one Source for a feed's canonical address, created (due now) if nobody followed it yet."""
    address = normalize_url(url)
    moved = Source.objects.filter(url=address).exclude(address=address).first()
    if moved is not None:  # the feed the address names has moved here permanently: same source
        return moved, False
    return Source.objects.get_or_create(
        address=address,
        defaults={"url": address, "title": title[:500], "kind": Source.Kind.RSS, "next_poll_at": timezone.now()},
    )


def subscribe(*, user: AbstractBaseUser, address: str, tags: Iterable[str] = ()) -> Subscription:
    """Follow whatever ``address`` points at (feed or site URL). Idempotent: following twice keeps one row.

    A new source is polled right after the commit; an existing one fills the timeline from stored posts.
    Raises ``SubscriptionError``, ``DiscoveryError`` or ``BlockedURL`` with a message for the person.
    """
    tag_names = clean_tags(tags)
    feed = discover_feed(address)
    with transaction.atomic():
        source, _ = source_for_feed_url(feed.url, title=feed.title)
        subscription, created = Subscription.objects.get_or_create(user=user, source=source)
        for name in tag_names:
            SubscriptionTag.objects.get_or_create(subscription=subscription, name=name)
        if created:
            backfill(user_id=user.pk, source_id=source.pk)
            if source.next_poll_at is None and source.status != Source.Status.GONE:
                Source.objects.filter(pk=source.pk).update(next_poll_at=timezone.now())
        if source.last_fetch_at is None:
            # robust: if the broker is unreachable the scheduler still finds the source due now
            transaction.on_commit(lambda: request_refresh(source_id=source.pk), robust=True)
    return subscription


@dataclass
class ImportSummary:
    followed: list[str] = field(default_factory=list)
    already_followed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (address, reason)


def import_opml(*, user: AbstractBaseUser, body: bytes) -> ImportSummary:
    """Follow every feed of an OPML file (nested outlines become tags), all or nothing.

    The whole file is read and checked before anything is stored; new sources are due at once and the
    scheduler fetches them. Raises ``OPMLError`` with a message for the person.
    """
    document = read_opml(body)
    summary = ImportSummary(failed=list(document.rejected))
    with transaction.atomic():
        for feed in document.feeds:
            source, _ = source_for_feed_url(feed.url, title=feed.title)
            subscription, created = Subscription.objects.get_or_create(user=user, source=source)
            for name in clean_tags(feed.tags[:MAX_TAGS]):
                SubscriptionTag.objects.get_or_create(subscription=subscription, name=name)
            if created:
                backfill(user_id=user.pk, source_id=source.pk)
                summary.followed.append(feed.url)
            else:
                summary.already_followed.append(feed.url)
        Source.objects.filter(subscriptions__user=user, next_poll_at__isnull=True).exclude(
            status=Source.Status.GONE
        ).update(next_poll_at=timezone.now())
    return summary


def export_opml(*, user: AbstractBaseUser) -> bytes:
    """The person's follow list as OPML 2.0; tags become outlines. Round-trips through ``import_opml``."""
    subscriptions = Subscription.objects.filter(user=user).select_related("source").prefetch_related("tags")
    feeds = [
        OPMLFeed(url=s.source.url, title=s.display_title, tags=sorted(t.name for t in s.tags.all()))
        for s in subscriptions.order_by("source__title", "id")
    ]
    return write_opml(title=f"{user.get_username()}'s subscriptions in Chorus", feeds=feeds)


def unsubscribe(*, user: AbstractBaseUser, subscription_id: int) -> None:
    """Stop following; the source's posts leave this person's timeline. Nobody left: polling stops."""
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().filter(pk=subscription_id, user=user).first()
        if subscription is None:
            raise SubscriptionNotFound("no such subscription")
        source_id = subscription.source_id
        subscription.delete()
        withdraw(user_id=user.pk, source_id=source_id)
        if not Subscription.objects.filter(source_id=source_id).exists():
            Source.objects.filter(pk=source_id).update(next_poll_at=None)


def update_subscription(*, user: AbstractBaseUser, subscription_id: int, tags: Iterable[str] | None = None,
                        title: str | None = None) -> Subscription:  # fmt: skip
    """Replace a subscription's tags and/or set the person's own title for it (blank: the source's)."""
    names = clean_tags(tags) if tags is not None else None
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().filter(pk=subscription_id, user=user).first()
        if subscription is None:
            raise SubscriptionNotFound("no such subscription")
        if names is not None:
            subscription.tags.exclude(name__in=names).delete()
            for name in names:
                SubscriptionTag.objects.get_or_create(subscription=subscription, name=name)
        if title is not None:
            subscription.title = " ".join(title.split())[:500]
            subscription.save(update_fields=["title"])
    return subscription


def request_refresh(*, source_id: int) -> bool:
    """"Refresh now": claim the source and hand it to the same task the scheduler uses.

    Returns False when a poll of this source is already running.
    """
    from .tasks import poll_source  # tasks import services; services only reach tasks here, at call time

    if not scheduler.claim_source(source_id=source_id):
        return False
    poll_source.delay(source_id)
    return True
