"""Following and unfollowing: the write paths for a person's follow list."""

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from aggregator import jobs
from aggregator.fetch import normalize_url
from aggregator.following import follow_box
from aggregator.following.opml import OPMLFeed, write_opml
from aggregator.ingest import push, scheduler, websub
from aggregator.models import Source, Subscription, SubscriptionTag
from aggregator.networks import x
from aggregator.networks.rss.discover import AccountFeed
from aggregator.networks.xmpp import XmppNode
from timelines.delivery import backfill, withdraw
from timelines.services import send_unread_counts_on_commit

MAX_TAGS = 20
MAX_TAG_LENGTH = 100


class SubscriptionError(ValueError):
    """The request cannot be done; the message is for the person."""


class SubscriptionNotFound(SubscriptionError):
    """No such subscription for this person (someone else's counts as none)."""


class SubscriptionLimitReached(SubscriptionError):
    """The person follows ``CHORUS_MAX_SUBSCRIPTIONS_PER_PERSON`` sources already."""


def over_cap_reason() -> str:
    return (f"you follow {settings.CHORUS_MAX_SUBSCRIPTIONS_PER_PERSON} sources, the most this hub allows one "
            f"person; unfollow some to follow more")  # fmt: skip


def has_room(user: AbstractBaseUser) -> bool:
    """Whether this person may follow one more source (a hint before costly look-ups; follows check again)."""
    return Subscription.objects.filter(user=user).count() < settings.CHORUS_MAX_SUBSCRIPTIONS_PER_PERSON


def _room_left(user: AbstractBaseUser) -> int:
    """How many more sources this person may follow. Takes the person's row lock until the transaction ends,
    so two follows of one person (two tabs, an import and the follow box) cannot both pass the cap."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
    return max(0, settings.CHORUS_MAX_SUBSCRIPTIONS_PER_PERSON - Subscription.objects.filter(user=user).count())


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


def spelled_as_before(*, user: AbstractBaseUser, names: Iterable[str]) -> list[str]:
    """Tags are one whatever their case ("Tech" and "tech"): each name as the person first spelled it on any of
    their subscriptions, or, new to them, as first spelled in ``names``."""
    names = list(names)
    if not names:
        return names
    folded = {name.casefold() for name in names}
    known: dict[str, str] = {}
    for name in SubscriptionTag.objects.filter(subscription__user=user).order_by("id").values_list("name", flat=True):
        if name.casefold() in folded:
            known.setdefault(name.casefold(), name)
    for name in names:  # new to the person: the first spelling given
        known.setdefault(name.casefold(), name)
    return [known[name.casefold()] for name in names]


def source_for_feed_url(url: str, *, title: str = "", handle: str = "", avatar_url: str = "") -> tuple[Source, bool]:
    """The one Source for a feed's canonical address, created (due now) if nobody followed it yet.

    ``handle``: the feed is one account's (``@alice@host``, ``@dora.bsky.social``); its posts are signed so.
    ``avatar_url``: that account's picture.
    """
    address = normalize_url(url)
    moved = Source.objects.filter(url=address).exclude(address=address).first()
    if moved is not None:  # the feed the address names has moved here permanently: same source
        return moved, False
    source, created = Source.objects.get_or_create(
        address=address,
        defaults={"url": address, "title": title[:500], "kind": Source.Kind.RSS, "next_poll_at": timezone.now(),
                  "remote_id": handle[:100], "avatar_url": avatar_url[:2048]},  # fmt: skip
    )
    if handle and not source.remote_id:  # followed as a plain feed before: now we know whose it is
        Source.objects.filter(pk=source.pk, remote_id="").update(remote_id=handle[:100], avatar_url=avatar_url[:2048])
    return source, created


def source_for_xmpp_node(node: XmppNode) -> tuple[Source, bool]:
    """The one Source for a PubSub node; the XMPP listener subscribes to it once somebody follows it.

    It is not polled over HTTP: the scheduler's periodic "poll" asks the listener to fetch the node's items
    again (the safety net), see ``polling``.
    """
    title = node.jid if node.is_microblog else f"{node.node} on {node.jid}"
    return Source.objects.get_or_create(
        address=node.uri,
        defaults={
            "url": node.uri, "title": title[:500], "kind": Source.Kind.XMPP, "push_jid": node.jid,
            "push_node": node.node, "push_state": Source.PushState.PENDING,
            "next_poll_at": timezone.now() + scheduler.xmpp_resync_interval(),
        },
    )  # fmt: skip


def source_for_x_account(account: x.XUser) -> tuple[Source, bool]:
    """The one Source for an X account (polled through the X API); a renamed account keeps its source."""
    existing = Source.objects.filter(kind=Source.Kind.X, remote_id=account.id).first()
    if existing is not None:
        return existing, False
    return Source.objects.get_or_create(
        address=x.canonical_address(account.username),
        defaults={
            "url": account.profile_url, "site_url": account.profile_url, "title": (account.name or account.username)[:500],
            "kind": Source.Kind.X, "remote_id": account.id, "next_poll_at": timezone.now(),
            "avatar_url": account.profile_image_url[:2048],
        },
    )  # fmt: skip


def _resolve(address: str):
    """What the follow box's text names (see ``follow_box``); this may fetch pages or ask an API."""
    try:
        return follow_box.resolve(address)
    except follow_box.FollowBoxError as error:
        raise SubscriptionError(str(error)) from error


def subscribe(*, user: AbstractBaseUser, address: str, tags: Iterable[str] = ()) -> Subscription:
    """Follow whatever ``address`` points at (anything ``follow_box`` accepts). Idempotent.

    A new feed or X account is polled right after the commit, a new XMPP node subscribed to by the listener;
    an existing source fills the timeline from stored posts.
    Raises ``SubscriptionError``, ``DiscoveryError`` or ``BlockedURL`` with a message for the person.
    """
    return subscribe_counted(user=user, address=address, tags=tags)[0]


def subscribe_counted(*, user: AbstractBaseUser, address: str, tags: Iterable[str] = ()) -> tuple[Subscription, bool]:
    """``subscribe``, also saying whether the subscription is new (imports count followed / already followed)."""
    tag_names = clean_tags(tags)  # checked before any network I/O
    return follow_target(user=user, target=_resolve(address), tags=tag_names)


def source_for_target(target) -> Source:
    """The one Source for what ``follow_box.resolve`` found, made if nobody followed it yet (nobody polls it
    until somebody follows it: the scheduler claims followed sources only)."""
    if isinstance(target, XmppNode):
        return source_for_xmpp_node(target)[0]
    if isinstance(target, x.XUser):
        return source_for_x_account(target)[0]
    account = target if isinstance(target, AccountFeed) else None
    source, _ = source_for_feed_url(target.url, title=target.title, handle=account.handle if account else "",
                                    avatar_url=account.avatar_url if account else "")  # fmt: skip
    if account and account.xmpp_uri and not source.push_jid:  # the listener subscribes; polls: safety net
        push.adopt_push_node(source_id=source.pk, xmpp_uri=account.xmpp_uri)
    return source


def resolve_source(*, address: str) -> Source:
    """The Source ``address`` names (anything the follow box takes), without following it.
    Raises ``SubscriptionError``, ``DiscoveryError`` or ``BlockedURL`` with a message for the person."""
    target = _resolve(address)
    with transaction.atomic():
        return source_for_target(target)


def follow_target(*, user: AbstractBaseUser, target, tags: Iterable[str] = ()) -> tuple[Subscription, bool]:
    """Follow what ``follow_box.resolve`` found; True when the subscription is new."""
    tag_names = clean_tags(tags)
    with transaction.atomic():
        return follow_source(user=user, source=source_for_target(target), tags=tag_names)


def follow_source(*, user: AbstractBaseUser, source: Source, tags: Iterable[str] = ()) -> tuple[Subscription, bool]:
    """Follow a stored source (an account the Mastodon API's search resolved); True when the subscription is new.
    Raises ``SubscriptionLimitReached`` past the person's cap."""
    with transaction.atomic():
        tag_names = spelled_as_before(user=user, names=clean_tags(tags))
        subscription = Subscription.objects.filter(user=user, source=source).first()
        created = subscription is None
        if created:
            if not _room_left(user):
                raise SubscriptionLimitReached(over_cap_reason())  # rolls back a source made just now too
            subscription = Subscription.objects.create(user=user, source=source)
        for name in tag_names:
            _add_tag(subscription, name)
        if created:
            backfill(user_id=user.pk, source_id=source.pk)
            send_unread_counts_on_commit(user=user)
            if source.next_poll_at is None and source.status != Source.Status.GONE and source.is_polled:
                Source.objects.filter(pk=source.pk).update(next_poll_at=timezone.now())
        if source.kind != Source.Kind.XMPP and source.is_polled and source.last_fetch_at is None:
            # robust: if the broker is unreachable the scheduler still finds the source due now
            transaction.on_commit(lambda: request_refresh(source_id=source.pk), robust=True)
    return subscription, created


def follow_opml_feeds(*, user: AbstractBaseUser, feeds: list[OPMLFeed]) -> list[bool | None]:
    """Follow a batch of OPML feeds (distinct URLs) with their tags, without fetching them; for each feed, True
    when newly followed, False when followed already, None when refused: the person's cap is reached
    (``over_cap_reason``). A handful of queries per batch, not per feed; call it inside a transaction.

    Same rules as ``source_for_feed_url`` (one Source per canonical address, a moved feed's source is found by
    its URL). Call ``make_followed_sources_due`` after the last batch: the scheduler then fetches what is new.
    """
    requested = [normalize_url(feed.url) for feed in feeds]
    moved = {s.url: s for s in Source.objects.filter(url__in=requested).order_by("id") if s.address != s.url}
    existing = {s.address: s for s in Source.objects.filter(address__in=requested)}
    existing_ids = {s.pk for s in existing.values()} | {s.pk for s in moved.values()}
    followed_before = set(Subscription.objects.filter(user=user, source_id__in=existing_ids)
                          .values_list("source_id", flat=True))  # fmt: skip
    room, allowed, kept = _room_left(user), set(), []  # kept: positions in the batch that are followed
    for position, address in enumerate(requested):  # the first ones fit under the cap; none refused gets a source
        source = moved.get(address) or existing.get(address)
        if not (source is not None and source.pk in followed_before) and address not in allowed:
            if room == 0:
                continue
            allowed.add(address)
            room -= 1
        kept.append(position)
    addresses, feeds = [requested[n] for n in kept], [feeds[n] for n in kept]
    known = set(existing)
    now = timezone.now()
    Source.objects.bulk_create([
        Source(address=address, url=address, title=feed.title[:500], kind=Source.Kind.RSS, next_poll_at=now)
        for address, feed in zip(addresses, feeds, strict=True) if address not in moved and address not in known
    ], ignore_conflicts=True)  # fmt: skip
    by_address = {s.address: s for s in Source.objects.filter(address__in=addresses)}
    sources = [moved.get(address) or by_address[address] for address in addresses]
    followed = set(Subscription.objects.filter(user=user, source__in=sources).values_list("source_id", flat=True))
    new_ids = {source.pk for source in sources} - followed
    names = {}  # the person's own name for a feed someone else named otherwise: kept on the subscription
    for source, feed in zip(sources, feeds, strict=True):
        names.setdefault(source.pk, feed.title if feed.title not in ("", source.title) else "")
    Subscription.objects.bulk_create([Subscription(user=user, source_id=pk, title=names[pk]) for pk in new_ids],
                                     ignore_conflicts=True)  # fmt: skip
    subscription_ids = dict(Subscription.objects.filter(user=user, source__in=sources).values_list("source_id", "id"))
    feed_tags = [clean_tags(feed.tags[:MAX_TAGS]) for feed in feeds]
    every_name = [name for names in feed_tags for name in names]
    spelling = {name.casefold(): spelled for name, spelled in
                zip(every_name, spelled_as_before(user=user, names=every_name), strict=True)}  # fmt: skip
    wanted = {(subscription_ids[source.pk], name.casefold()) for source, names in zip(sources, feed_tags, strict=True)
              for name in names}  # fmt: skip
    have = {(pk, name.casefold()) for pk, name in SubscriptionTag.objects.filter(
        subscription_id__in=set(subscription_ids.values())).values_list("subscription_id", "name")}  # fmt: skip
    SubscriptionTag.objects.bulk_create([SubscriptionTag(subscription_id=pk, name=spelling[folded])
                                         for pk, folded in wanted - have], ignore_conflicts=True)  # fmt: skip
    preexisting = {s.pk for s in moved.values()} | {s.pk for s in sources if s.address in known}
    for source_id in new_ids & preexisting:  # sources made by this batch have no posts yet
        backfill(user_id=user.pk, source_id=source_id)
    outcomes: list[bool | None] = [None] * len(requested)
    seen = set()
    for position, source in zip(kept, sources, strict=True):
        outcomes[position] = source.pk in new_ids and source.pk not in seen
        seen.add(source.pk)
    return outcomes


def _add_tag(subscription: Subscription, name: str) -> None:
    """The tag on the subscription unless it carries it already, in any case."""
    if not SubscriptionTag.objects.filter(subscription=subscription, name__iexact=name).exists():
        SubscriptionTag.objects.create(subscription=subscription, name=name)


def make_followed_sources_due(*, user: AbstractBaseUser) -> None:
    """Sources this person follows that nobody polled (unfollowed by all before) are due now."""
    Source.objects.filter(subscriptions__user=user, next_poll_at__isnull=True).exclude(
        status=Source.Status.GONE
    ).exclude(kind=Source.Kind.LOCAL).update(next_poll_at=timezone.now())


def export_opml(*, user: AbstractBaseUser, now: datetime | None = None) -> bytes:
    """The person's follow list as OPML 2.0 (``now``: its dateCreated); tags become outlines. Importing it
    (``imports.start_import``) gives the same follow list back, which exports to the same document."""
    subscriptions = Subscription.objects.filter(user=user).select_related("source").prefetch_related("tags")
    feeds = [OPMLFeed(url=s.source.url, title=s.display_title, tags=[t.name for t in s.tags.all()],
                      site_url=s.source.site_url) for s in subscriptions]  # fmt: skip
    return write_opml(title=f"{user.get_username()}'s subscriptions in Chorus", feeds=feeds,
                      created=now or timezone.now())  # fmt: skip


def unsubscribe(*, user: AbstractBaseUser, subscription_id: int) -> None:
    """Stop following; the source's posts leave this person's timeline. Nobody left: polling stops."""
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().filter(pk=subscription_id, user=user).first()
        if subscription is None:
            raise SubscriptionNotFound("no such subscription")
        source_id = subscription.source_id
        subscription.delete()
        withdraw(user_id=user.pk, source_id=source_id)
        send_unread_counts_on_commit(user=user)
        if not Subscription.objects.filter(source_id=source_id).exists():
            Source.objects.filter(pk=source_id).update(next_poll_at=None)
            websub.stop(source_id=source_id)  # the last unfollow unsubscribes at the hub


def update_subscription(*, user: AbstractBaseUser, subscription_id: int, tags: Iterable[str] | None = None,
                        title: str | None = None) -> Subscription:  # fmt: skip
    """Replace a subscription's tags and/or set the person's own title for it (blank: the source's)."""
    names = clean_tags(tags) if tags is not None else None
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().filter(pk=subscription_id, user=user).first()
        if subscription is None:
            raise SubscriptionNotFound("no such subscription")
        if names is not None:
            names = spelled_as_before(user=user, names=names)
            folded = {name.casefold() for name in names}
            subscription.tags.exclude(pk__in=[t.pk for t in subscription.tags.all() if t.name.casefold() in folded]).delete()
            for name in names:
                _add_tag(subscription, name)
        if title is not None:
            subscription.title = " ".join(title.split())[:500]
            subscription.save(update_fields=["title"])
    return subscription


def request_refresh(*, source_id: int) -> bool:
    """"Refresh now": claim the source and hand it to the same task the scheduler uses.

    Returns False when a poll of this source is already running.
    """
    if not scheduler.claim_source(source_id=source_id):
        return False
    jobs.enqueue("aggregator.tasks.poll_source", source_id)
    return True


def rename_tag(*, user: AbstractBaseUser, old: str, new: str) -> int:
    """Rename one of the person's tags on every subscription carrying it (merged where the new name is there
    already); returns how many subscriptions carry the new name for it. Raises ``SubscriptionError``."""
    (name,) = clean_tags([new]) or [""]
    if not name:
        raise SubscriptionError("a tag needs a name")
    with transaction.atomic():
        tagged = SubscriptionTag.objects.filter(subscription__user=user, name__iexact=old)
        subscription_ids = list(tagged.values_list("subscription_id", flat=True))
        tagged.delete()
        (name,) = spelled_as_before(user=user, names=[name])  # merged into a tag of another case: its spelling
        for pk in subscription_ids:
            _add_tag(Subscription(pk=pk), name)
        if subscription_ids:
            send_unread_counts_on_commit(user=user)
    return len(subscription_ids)


def remove_tag(*, user: AbstractBaseUser, name: str) -> int:
    """Take a tag off all of the person's subscriptions (they stay followed); returns how many carried it."""
    removed, _ = SubscriptionTag.objects.filter(subscription__user=user, name__iexact=name).delete()
    if removed:
        send_unread_counts_on_commit(user=user)
    return removed


def subscription_of_source(*, user: AbstractBaseUser, source_id: int) -> Subscription:
    """The person's subscription to a source. Raises ``SubscriptionNotFound``."""
    subscription = Subscription.objects.filter(user=user, source_id=source_id).first()
    if subscription is None:
        raise SubscriptionNotFound("you do not follow that source")
    return subscription
