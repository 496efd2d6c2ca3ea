"""Chorus as a WebSub hub (W3C WebSub) for its people's feeds.

A subscription request is checked (a topic that is one of our feeds, an http(s) callback the outbound guard
accepts, the caps per topic and per callback host) and answered 202; the intent is verified afterwards in a
worker task, through ``aggregator.fetch`` (private addresses refused, deadline, body cap). A post, its edit or
its deletion makes every active subscription of that feed owe that post (``HubOwedPost``, in the post's own
transaction). A delivery is a fat ping of the posts owed, as they are when it leaves (new and changed entries,
RFC 6721 tombstones for deletions: WebSub's new-and-updated content, never the whole feed), signed
``X-Hub-Signature: sha256=...`` with the subscriber's secret. One delivery at a time per subscriber: posts
written while one is queued or in flight are carried together by the next (a fast poster's posts coalesce).
Failures are retried with exponential backoff, the owed posts kept; a callback answering 410 is dropped;
expired leases are dropped by the sweep.
"""

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import Resolver404, resolve
from django.utils import timezone

from aggregator import jobs
from aggregator.db.backoff import backoff
from aggregator.fetch import FetchError, check_url, fetch
from aggregator.models import Post
from publishing import addresses, feed, selectors
from publishing.microblogs import microblog_for
from publishing.models import HubOwedPost, HubSubscription, Microblog

log = logging.getLogger(__name__)
VERIFY_TASK = "publishing.tasks.verify_hub_intent"
DELIVER_TASK = "publishing.tasks.deliver_to_subscriber"
PING_POSTS = 100  # the most one delivery carries; more owed are sent by the next, at once
ROUNDS = 5  # deliveries in a row to one subscriber by one task (a slow callback holds a worker that long)
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=6)
MAX_ATTEMPTS = 12  # about two days of retries, then the subscription is dropped
MIN_LEASE = 300
CLAIM_FOR = timedelta(minutes=2)  # a delivery in flight: no other worker takes it meanwhile
MAX_SECRET = 199  # the spec: less than 200 bytes


class HubError(ValueError):
    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class HubRequest:
    mode: str
    topic: str
    callback: str
    secret: str = ""
    lease_seconds: str = ""


def microblog_for_topic(topic: str) -> Microblog:
    """The microblog whose feed ``topic`` is (only this hub's own feeds are hubbed here)."""
    parts = urlsplit(topic.strip())
    if f"{parts.scheme}://{parts.netloc}".lower() != addresses.base_url().lower():
        raise HubError("hub.topic is not a feed of this hub")
    try:
        match = resolve(parts.path)
    except Resolver404:
        match = None
    person = selectors.person_named(match.kwargs["username"]) if match and match.url_name == "profile_feed" else None
    if person is None:
        raise HubError("hub.topic is not a feed of this hub", status=404)
    return microblog_for(person)


def request_subscription(request: HubRequest) -> HubSubscription:
    """Take a (un)subscription request; its intent is verified by a worker. Raises ``HubError`` (a 4xx)."""
    if request.mode not in ("subscribe", "unsubscribe"):
        raise HubError("hub.mode must be subscribe or unsubscribe")
    if len(request.secret.encode()) > MAX_SECRET:
        raise HubError("hub.secret must be shorter than 200 bytes")
    callback = request.callback.strip()
    if not callback or len(callback) > 2048:
        raise HubError("hub.callback is required (an http(s) URL)")
    try:
        check_url(callback)
    except FetchError as error:
        raise HubError(f"hub.callback refused: {error}") from None
    microblog = microblog_for_topic(request.topic)
    host = (urlsplit(callback).hostname or "").lower()
    with transaction.atomic():
        row = HubSubscription.objects.select_for_update().filter(microblog=microblog, callback=callback).first()
        if row is None:
            if request.mode == "unsubscribe":
                raise HubError("no such subscription", status=404)
            _check_caps(microblog=microblog, host=host)
            row = HubSubscription.objects.create(microblog=microblog, callback=callback, callback_host=host)
        # what was asked takes effect once the subscriber confirms it (a stranger cannot change a secret)
        row.pending_secret, row.pending_lease = request.secret, _lease(request.lease_seconds)
        row.save(update_fields=["pending_secret", "pending_lease"])
        jobs.enqueue_on_commit(VERIFY_TASK, row.pk, request.mode)
    return row


def _check_caps(*, microblog: Microblog, host: str) -> None:
    live = HubSubscription.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    if live.filter(microblog=microblog).count() >= settings.CHORUS_HUB_MAX_SUBSCRIBERS_PER_TOPIC:
        raise HubError("this feed has as many subscribers as the hub takes", status=429)
    if live.filter(callback_host=host).count() >= settings.CHORUS_HUB_MAX_SUBSCRIPTIONS_PER_HOST:
        raise HubError(f"{host} has as many subscriptions as the hub takes from one host", status=429)


def _lease(value: str) -> int:
    most = settings.CHORUS_HUB_LEASE_SECONDS
    try:
        asked = int(value) if value else most
    except ValueError:
        asked = most
    return max(MIN_LEASE, min(asked, most))


def verify_intent(*, subscription_id: int, mode: str) -> bool:
    """Ask the callback whether it wants this (a GET with a challenge it must echo). Confirmed: the
    subscription is active for its lease (or removed, for an unsubscribe); refused: nothing changes, and a
    subscription never confirmed is removed."""
    row = HubSubscription.objects.filter(pk=subscription_id).select_related("microblog__user").first()
    if row is None:
        return False
    challenge = secrets.token_urlsafe(24)
    query = {"hub.mode": mode, "hub.topic": addresses.feed_url(row.microblog.user.get_username()),
             "hub.challenge": challenge}  # fmt: skip
    if mode == "subscribe":
        query["hub.lease_seconds"] = str(row.pending_lease)
    separator = "&" if urlsplit(row.callback).query else "?"
    try:
        answer = fetch(row.callback + separator + urlencode(query), accept="text/plain, */*", max_bytes=4096)
        confirmed = answer.body.decode("utf-8", "replace").strip() == challenge
    except FetchError as error:
        log.info("hub: intent of %s not confirmed: %s", row.callback, error)
        confirmed = False
    if mode == "unsubscribe":
        if confirmed:
            row.delete()
        return confirmed
    if confirmed:
        HubSubscription.objects.filter(pk=row.pk).update(
            state=HubSubscription.State.ACTIVE, secret=row.pending_secret, lease_seconds=row.pending_lease,
            expires_at=timezone.now() + timedelta(seconds=row.pending_lease))  # fmt: skip
    elif row.state == HubSubscription.State.VERIFYING:
        row.delete()
    return confirmed


def announce(*, microblog: Microblog, post: Post) -> int:
    """The post was written, changed or deleted: every live subscriber of its feed owes it from now. Inside the
    post's transaction. A subscriber with no delivery owed gets one queued (after the commit); one whose delivery
    is queued, in flight or backing off gets the post with it or with the next.

    The subscriptions are locked until the commit, as ``_finish`` locks its own: either the finishing delivery
    sees this post owed, or this sees that no delivery is owed any more and queues one."""
    now = timezone.now()
    owed = list(HubSubscription.objects.select_for_update().filter(
        microblog=microblog, state=HubSubscription.State.ACTIVE, expires_at__gt=now,
    ).values_list("pk", "due_at"))  # fmt: skip
    HubOwedPost.objects.bulk_create([HubOwedPost(subscription_id=pk, post=post) for pk, _ in owed])
    idle = [pk for pk, due_at in owed if due_at is None]
    if idle:
        HubSubscription.objects.filter(pk__in=idle).update(due_at=now)
    for subscription_id in idle:
        jobs.enqueue_on_commit(DELIVER_TASK, subscription_id)
    return len(owed)


def deliver(*, subscription_id: int) -> bool:
    """Send one subscriber the posts it is owed, if a delivery is due (claimed first: a late duplicate message
    sends nothing). Posts owed meanwhile leave next from this same run, without a round through the broker, for
    up to ``ROUNDS`` deliveries (then a new task takes over). Returns True when something was delivered."""
    delivered = False
    for _ in range(ROUNDS):
        sent, more = _deliver_owed(subscription_id)
        delivered = delivered or sent
        if not more:
            return delivered
    jobs.enqueue(DELIVER_TASK, subscription_id)
    return delivered


def _deliver_owed(subscription_id: int) -> tuple[bool, bool]:
    """One delivery: whether it was taken, and whether more posts are owed (due now) after it."""
    now = timezone.now()
    claim = now + CLAIM_FOR
    claimed = HubSubscription.objects.filter(pk=subscription_id, due_at__lte=now, state=HubSubscription.State.ACTIVE,
                                             expires_at__gt=now).update(due_at=claim)  # fmt: skip
    if not claimed:
        return False, False
    row = HubSubscription.objects.select_related("microblog__user").get(pk=subscription_id)
    owed = list(HubOwedPost.objects.filter(subscription=row).order_by("pk").values_list("pk", "post_id")[:PING_POSTS])
    if not owed:  # carried by an earlier delivery
        return False, _finish(row, claim=claim, sent=[], delivered=False)
    person = row.microblog.user
    posts = list(Post.objects.filter(pk__in={post_id for _, post_id in owed}).order_by("-published", "-id"))
    body = feed.atom_feed(user=person, posts=posts)
    topic = addresses.feed_url(person.get_username())
    headers = {"Content-Type": feed.CONTENT_TYPE, "Link": f'<{addresses.hub_url()}>; rel="hub", <{topic}>; rel="self"'}
    if row.secret:
        headers["X-Hub-Signature"] = "sha256=" + hmac.new(row.secret.encode(), body, hashlib.sha256).hexdigest()
    try:
        fetch(row.callback, method="POST", data=body, headers=headers, max_bytes=4096)
    except FetchError as error:
        return _failed(row, error), False
    return True, _finish(row, claim=claim, sent=[pk for pk, _ in owed], delivered=True)


def _finish(row: HubSubscription, *, claim: datetime, sent: list[int], delivered: bool) -> bool:
    """The delivery was taken (or had nothing to carry): its posts are no longer owed. Posts owed meanwhile
    (``announce`` saw this delivery under way and left them to it) make the next delivery due now; returns
    whether there are such posts (the sweep finds them too, should this run stop here)."""
    with transaction.atomic():
        HubOwedPost.objects.filter(pk__in=sent).delete()
        held = HubSubscription.objects.filter(pk=row.pk, due_at=claim)
        if not list(held.select_for_update().values_list("pk", flat=True)):  # the claim ran out, another run took it
            return False
        more = HubOwedPost.objects.filter(subscription=row).exists()
        fields = {"attempts": 0, "last_error": "", "delivered_at": timezone.now()} if delivered else {}
        held.update(due_at=timezone.now() if more else None, **fields)
    return more


def _failed(row: HubSubscription, error: FetchError) -> bool:
    if error.status == 410 or row.attempts + 1 >= MAX_ATTEMPTS:
        log.info("hub: dropping %s (%s)", row.callback, error)
        row.delete()
        return False
    delay = backoff(row.attempts + 1, first=RETRY_BASE, most=RETRY_MAX)
    if error.retry_after:
        delay = max(delay, timedelta(seconds=min(error.retry_after, RETRY_MAX.total_seconds())))
    HubSubscription.objects.filter(pk=row.pk).update(
        due_at=timezone.now() + delay, attempts=row.attempts + 1, last_error=str(error)[:500])  # fmt: skip
    return False


def sweep(*, limit: int = 200) -> int:
    """Periodic: drop expired leases, queue the deliveries whose retry time came (or whose message was lost)."""
    now = timezone.now()
    HubSubscription.objects.filter(expires_at__lte=now).delete()
    due = list(HubSubscription.objects.filter(due_at__lte=now, state=HubSubscription.State.ACTIVE)
               .order_by("due_at").values_list("pk", flat=True)[:limit])  # fmt: skip
    for subscription_id in due:
        jobs.enqueue(DELIVER_TASK, subscription_id)
    return len(due)
