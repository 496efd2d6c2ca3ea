"""WebSub push state of a source: subscribing to its hub, the hub's intent checks and deliveries, renewals,
and the last unfollow's unsubscribe. Beside ``push`` (XMPP), which decides what a working push means for polling.

A poll that finds hubs calls ``adopt_hub``; the subscription request itself leaves through the
``aggregator.tasks.websub_request`` task, after the row (token, secret, pending state) is committed, because a
hub may check intent before it even answers the request. ``sweep`` renews leases before they run out and
retries what failed. A delivery is checked in the web process (``receive_delivery``) and stored by a worker
(``store_deliveries``: what waits for the subscription in ``websub_waiting``, through the
``aggregator.tasks.store_websub_deliveries`` task, several deliveries in one transaction when they queued up).

What a delivery needs of its subscription (id, source, secret) is held per process by callback token
(``callback_targets``, a ``db.snapshots`` version over an empty table filled one token at a time): a hub's stream
of deliveries then asks the database nothing. Every save and delete of a subscription (an unsubscribe, a new
secret) drops what every process holds (within ``CHORUS_SNAPSHOT_CHECK_SECONDS``); a signature that fails
against a held secret is checked again against the stored one, so a secret changed without a save (a bulk
``update``) never loses a good delivery.
"""

import base64
import dataclasses
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from aggregator import jobs
from aggregator.content.entry import Entry, ParsedFeed
from aggregator.content.xmlsafety import UnsafeXML
from aggregator.db.rates import over_rate
from aggregator.db.snapshots import Snapshot
from aggregator.ingest import push, scheduler, websub_waiting
from aggregator.ingest.pipeline import ingest_feed
from aggregator.models import Source, WebSubSubscription
from aggregator.networks import websub
from aggregator.networks.rss import NotAFeed, parse

log = logging.getLogger(__name__)
State = WebSubSubscription.State

VERIFY_WAIT = timedelta(hours=1)  # a hub that accepted but never checked intent is asked again after this
RENEW_AT = 0.8  # of the granted lease: renewed well before it runs out
MIN_RENEW_MARGIN = timedelta(seconds=30)
DENIED_RETRY = timedelta(days=1)
MAX_UNSUBSCRIBE_ATTEMPTS = 3
RETRY_BASE = timedelta(minutes=5)
RETRY_MAX = timedelta(days=1)
RATE_WINDOW = 60  # seconds
MAX_HELD_TARGETS = 50_000  # callback tokens held per process; past it the table starts empty again


def _no_targets_yet() -> dict[str, tuple[int, int, str]]:
    return {}


# token -> (subscription id, source id, secret), filled by ``_delivery_target``; AggregatorConfig.ready makes
# every save and delete of a WebSubSubscription start it empty again in every process.
callback_targets = Snapshot(key="chorus:websub:callbacks-version", load=_no_targets_yet, max_age=600)


def push_enabled() -> bool:
    """Hubs can reach Chorus only at a public address."""
    return bool(settings.CHORUS_PUBLIC_URL)


def callback_url(token: str) -> str:
    return settings.CHORUS_PUBLIC_URL.rstrip("/") + reverse("websub_callback", args=[token])


def adopt_hub(*, source_id: int, links: websub.WebSubLinks) -> None:
    """A poll found what the feed says about push: subscribe to its first hub (once for all followers), follow a
    changed hub or topic, and forget the hub when the feed stops naming one."""
    current = WebSubSubscription.objects.filter(source_id=source_id).first()
    if not links.pushed:
        if current is not None and current.mode == "subscribe":
            current.delete()
        return
    if current is not None and current.mode == "subscribe" and current.hub_url in links.hubs \
            and current.topic_url == links.topic:  # fmt: skip
        if current.state == State.OFF and push_enabled():
            _resubscribe(current)
        return
    values = {"hub_url": links.hubs[0][:2048], "topic_url": links.topic[:2048], "secret": websub.new_secret(),
              "mode": "subscribe", "reason": "", "attempts": 0, "expires_at": None}  # fmt: skip
    if current is None:
        current = WebSubSubscription(source_id=source_id, callback_token=secrets.token_urlsafe(32), **values)
    else:
        for name, value in values.items():
            setattr(current, name, value)
    current.state, current.next_action_at = State.OFF, None
    current.save()
    if push_enabled():
        _resubscribe(current)
    else:
        push.announce_source_status(source_id)


def _resubscribe(subscription: WebSubSubscription) -> None:
    _set_state(subscription.pk, state=State.PENDING, mode="subscribe", next_action_at=timezone.now() + VERIFY_WAIT)
    jobs.enqueue_on_commit("aggregator.tasks.websub_request", subscription.pk)


def _set_state(subscription_id: int, *, state: str, reason: str = "", **fields) -> None:
    """Store a state; followers' pages hear of a change (``source.status``)."""
    row = WebSubSubscription.objects.filter(pk=subscription_id).values_list("source_id", "state", "reason").first()
    if row is None:
        return
    WebSubSubscription.objects.filter(pk=subscription_id).update(state=state, reason=reason[:2000], **fields)
    if row[1:] != (state, reason[:2000]):
        WebSubSubscription.objects.filter(pk=subscription_id).update(state_at=timezone.now())
        push.announce_source_status(row[0])


def send_request(*, subscription_id: int) -> str:
    """The task's body: ask the hub for what the row says (subscribe or unsubscribe). Returns what happened."""
    row = WebSubSubscription.objects.filter(pk=subscription_id).first()
    if row is None:
        return "missing"
    if row.mode == "subscribe" and not push_enabled():
        _set_state(row.pk, state=State.OFF, next_action_at=None)
        return "off"
    now = timezone.now()
    WebSubSubscription.objects.filter(pk=row.pk).update(requested_at=now)
    try:
        websub.request_subscription(row.hub_url, mode=row.mode, topic=row.topic_url, callback=callback_url(
            row.callback_token), secret=row.secret, lease_seconds=settings.CHORUS_WEBSUB_LEASE_SECONDS)  # fmt: skip
    except websub.HubRefused as error:
        return _request_failed(row, str(error), now=now)
    WebSubSubscription.objects.filter(pk=row.pk).update(attempts=0)
    return "requested"


def _request_failed(row: WebSubSubscription, error: str, *, now: datetime) -> str:
    log.info("WebSub %s of source %s failed: %s", row.mode, row.source_id, error)
    attempts = row.attempts + 1
    if row.mode == "unsubscribe" and attempts >= MAX_UNSUBSCRIBE_ATTEMPTS:
        row.delete()  # the lease runs out at the hub; its deliveries then meet 410
        return "given up"
    retry = now + min(RETRY_MAX, RETRY_BASE * 2 ** min(attempts - 1, 16))
    WebSubSubscription.objects.filter(pk=row.pk).update(attempts=attempts)
    keep = row.state in (State.ACTIVE, State.SILENT) and row.expires_at and row.expires_at > now  # lease still runs
    _set_state(row.pk, state=row.state if keep else State.ERROR, reason=error, next_action_at=retry)
    return "failed"


@dataclass(frozen=True, slots=True)
class IntentAnswer:
    status: int
    body: str = ""


def verify_intent(*, token: str, mode: str, topic: str, challenge: str, lease_seconds: str, reason: str = "") -> IntentAnswer:
    """The hub's GET to the callback: echo the challenge only for the topic and mode Chorus asked for; take a
    denial for that topic. Anything else is 404 and changes nothing."""
    row = WebSubSubscription.objects.filter(callback_token=token).first()
    if row is None or topic != row.topic_url:
        return IntentAnswer(404)
    if mode == "denied":
        _set_state(row.pk, state=State.DENIED, reason=reason or "the hub gave no reason",
                   next_action_at=timezone.now() + DENIED_RETRY)  # fmt: skip
        return IntentAnswer(200)
    if mode != row.mode or not challenge:
        return IntentAnswer(404)
    if mode == "unsubscribe":
        row.delete()
        return IntentAnswer(200, challenge)
    now = timezone.now()
    lease = _lease(lease_seconds)
    renew = now + max(MIN_RENEW_MARGIN, lease * RENEW_AT)
    state, why = (State.SILENT, row.reason) if row.state == State.SILENT else (State.ACTIVE, "")
    _set_state(row.pk, state=state, reason=why, expires_at=now + lease, next_action_at=renew, attempts=0)
    WebSubSubscription.objects.filter(pk=row.pk).update(state_at=now)  # a verified lease is a sign of life
    return IntentAnswer(200, challenge)


def _lease(value: str) -> timedelta:
    """The lease the hub granted (it may change what was asked); what was asked when it says nothing usable."""
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    return timedelta(seconds=seconds if seconds > 0 else settings.CHORUS_WEBSUB_LEASE_SECONDS)


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    status: int
    detail: str
    created: int = 0


def receive_delivery(*, token: str, body: bytes, signature: str, content_type: str) -> DeliveryOutcome:
    """A hub's POST, the web side: rate cap and signature here, the storing in a worker (``store_deliveries``).

    Unsigned or wrongly signed deliveries store nothing and are answered 2xx all the same (the spec's advice: a
    forger learns nothing); they are logged and counted. A verified delivery is queued for a worker and answered
    202 at once: parsing and ingesting a fat ping (its fan-out to every follower) costs the web process more than
    all the rest, and the hub waits for the answer. Where tasks run eagerly (the embedded hub, tests) it is stored
    before the answer (200). A broker that is down fails the request (5xx): the hub delivers again later.

    The body waits in Redis (``websub_waiting``: base64 in JSON, 4/3 of its size) until a worker stores it. That
    is acceptable because it is capped by ``CHORUS_WEBSUB_MAX_BYTES`` (4 MiB by default, checked before it is
    read) and each subscription by ``CHORUS_WEBSUB_DELIVERIES_PER_MINUTE``; real fat pings are a feed document of
    tens of kilobytes, and a body waits only until a worker takes it."""
    target = _delivery_target(token)
    if target is None:
        return DeliveryOutcome(410, "no such subscription")
    subscription_id, source_id, secret = target
    if _over_rate(subscription_id):
        return DeliveryOutcome(429, "too many deliveries for this subscription")
    if not _signed(token, body, secret=secret, signature=signature):
        WebSubSubscription.objects.filter(pk=subscription_id).update(rejected=F("rejected") + 1)
        log.warning("WebSub delivery for source %s ignored: %s signature", source_id,
                    "wrong" if signature else "no")  # fmt: skip
        return DeliveryOutcome(202, "ignored")
    received_at = timezone.now()
    if jobs.runs_inline():
        created = store_delivery(subscription_id=subscription_id, body=body, content_type=content_type,
                                 received_at=received_at)  # fmt: skip
        return DeliveryOutcome(200, "stored", created=created)
    websub_waiting.add(subscription_id, body=body, content_type=content_type, received_at=received_at)
    return DeliveryOutcome(202, "queued")


def _delivery_target(token: str) -> tuple[int, int, str] | None:
    """(subscription id, source id, secret) of the callback ``token``, held by this process once read; None for
    no subscription (not held: a subscription made later must be found)."""
    held = callback_targets.get()
    target = held.get(token)
    if target is None:
        target = _stored_target(token)
        if target is not None:
            if len(held) >= MAX_HELD_TARGETS:
                held.clear()
            held[token] = target
    return target


def _stored_target(token: str) -> tuple[int, int, str] | None:
    return WebSubSubscription.objects.filter(callback_token=token).values_list("pk", "source_id", "secret").first()


def _signed(token: str, body: bytes, *, secret: str, signature: str) -> bool:
    """The signature checked in constant time against the held secret and, when that refuses it, against the
    stored one (a secret changed without a save)."""
    if websub.signature_valid(body, secret=secret, header=signature):
        return True
    held = callback_targets.get()
    stored = _stored_target(token)
    if stored is None:
        held.pop(token, None)
        return False
    held[token] = stored
    if stored[2] == secret:
        return False
    return websub.signature_valid(body, secret=stored[2], header=signature)


def store_waiting(*, subscription_id: int) -> int:
    """The task's body: store the deliveries that wait for the subscription (``websub_waiting``); returns how
    many were taken."""
    return websub_waiting.drain(subscription_id, lambda batch: _store_batch(subscription_id, batch))


def _store_batch(subscription_id: int, batch: list[websub_waiting.Waiting]) -> None:
    """Deliveries that queued up are stored together; if that fails, each alone, and one that fails alone is
    dropped (logged) rather than blocking those behind it."""
    try:
        store_deliveries(subscription_id=subscription_id, deliveries=batch)
        return
    except Exception:
        if len(batch) == 1:
            log.exception("WebSub delivery for subscription %s dropped", subscription_id)
            return
    for delivery in batch:
        _store_batch(subscription_id, [delivery])


def store_queued_delivery(*, subscription_id: int, body_base64: str, content_type: str, received_at: str) -> int:
    """A delivery queued with its body in the broker message (``store_websub_delivery``, as earlier versions did)."""
    return store_delivery(subscription_id=subscription_id, body=base64.b64decode(body_base64),
                          content_type=content_type, received_at=datetime.fromisoformat(received_at))  # fmt: skip


def store_delivery(*, subscription_id: int, body: bytes, content_type: str, received_at: datetime) -> int:
    """One verified delivery, as ``store_deliveries`` stores it."""
    return store_deliveries(subscription_id=subscription_id,
                            deliveries=[websub_waiting.Waiting(body, content_type, received_at)])  # fmt: skip


def store_deliveries(*, subscription_id: int, deliveries: list[websub_waiting.Waiting]) -> int:
    """Verified deliveries of one subscription, in arrival order, in one transaction: a fat ping goes through the
    same parse and ingest as a poll (a post already stored, as when a delivery is handed twice, is recognized and
    not stored again); an empty body (thin ping) or one that is no feed makes the source due now. Each delivery
    is a sign of life of the hub, at the time it arrived. Returns how many posts are new (0 when the subscription
    is gone meanwhile).

    Several fat pings are one ingest (``_merged``): each entry as the newest document that has it says, every
    tombstone of any of them."""
    row = WebSubSubscription.objects.filter(pk=subscription_id).select_related("source").first()
    if row is None:
        return 0
    created = 0
    with transaction.atomic():
        feeds = [(_parsed(row, delivery), delivery.received_at) for delivery in deliveries]
        if any(feed is None for feed, _ in feeds):
            _fetch_soon(row.source_id)
        for feed, entries, fetched_at in _merged([(feed, at) for feed, at in feeds if feed is not None]):
            created += len(ingest_feed(row.source, feed, entries=entries, fetched_at=fetched_at).created)
        newest = max(delivery.received_at for delivery in deliveries)
        WebSubSubscription.objects.filter(pk=row.pk).update(last_delivery_at=newest,
                                                            deliveries=F("deliveries") + len(deliveries))  # fmt: skip
        if row.state == State.SILENT:
            _set_state(row.pk, state=State.ACTIVE)  # the hub proved itself again
        Source.objects.filter(pk=row.source_id).update(last_success_at=newest)
    return created


def _parsed(row: WebSubSubscription, delivery: websub_waiting.Waiting) -> ParsedFeed | None:
    """The delivered document, or None for a thin ping or a body that is no feed (the source is fetched)."""
    if not delivery.body.strip():
        return None
    try:
        return parse(delivery.body, base_url=row.topic_url, content_type=delivery.content_type)
    except (NotAFeed, UnsafeXML) as error:
        log.info("WebSub delivery for source %s is no feed (%s): fetching it instead", row.source_id, error)
        return None


def _merged(feeds: list[tuple[ParsedFeed, datetime]]) -> list[tuple[ParsedFeed, list[Entry], datetime]]:
    """What to ingest for these documents (arrival order): (feed, entries, fetched at). Documents whose every
    entry has an id of its own become one: each id's entry from the newest document naming it (newest first),
    the tombstones of all, at the newest arrival. A document with entries the pipeline tells apart another way
    (no id, or an id twice) is ingested alone, as it came."""
    alone = [(feed, feed.entries, at) for feed, at in feeds if not _keyed(feed)]
    keyed = [(feed, at) for feed, at in feeds if _keyed(feed)]
    if len(keyed) <= 1:
        return alone + [(feed, feed.entries, at) for feed, at in keyed]
    newest: dict[str, Entry] = {}
    for feed, _ in reversed(keyed):
        for entry in feed.entries:
            newest.setdefault(entry.guid, entry)
    deleted = tuple(dict.fromkeys(guid for feed, _ in keyed for guid in feed.deleted))
    last, at = keyed[-1]
    return alone + [(dataclasses.replace(last, deleted=deleted), list(newest.values()), at)]


def _keyed(feed: ParsedFeed) -> bool:
    guids = [entry.guid for entry in feed.entries]
    return all(guids) and len(set(guids)) == len(guids)


def _over_rate(subscription_id: int) -> bool:
    return over_rate(f"websub:{subscription_id}", limit=settings.CHORUS_WEBSUB_DELIVERIES_PER_MINUTE,
                     window=RATE_WINDOW)  # fmt: skip


def _fetch_soon(source_id: int) -> None:
    """A thin ping: poll the source now, through the same task as the scheduler (unless a poll is running)."""
    if scheduler.claim_source(source_id=source_id):
        jobs.enqueue_on_commit("aggregator.tasks.poll_source", source_id)


def stop(*, source_id: int) -> None:
    """Nobody follows the source any more: unsubscribe at the hub (a row the hub never took is just dropped)."""
    row = WebSubSubscription.objects.filter(source_id=source_id).first()
    if row is None:
        return
    if row.state in (State.OFF, State.DENIED) or not push_enabled():
        row.delete()
        return
    _set_state(row.pk, state=State.UNSUBSCRIBING, mode="unsubscribe", attempts=0,
               next_action_at=timezone.now() + VERIFY_WAIT)  # fmt: skip
    jobs.enqueue_on_commit("aggregator.tasks.websub_request", row.pk)


def sweep(*, now: datetime | None = None, limit: int = 100) -> int:
    """Renew leases that run out soon, ask again where a hub never verified or a request failed, retry
    unsubscribes; each row is claimed by a conditional update, so two sweepers never send the same request.
    Deliveries that wait with no task to store them (``websub_waiting.requeue_stranded``) get one."""
    now = now or timezone.now()
    due = WebSubSubscription.objects.filter(next_action_at__lte=now).order_by("next_action_at")
    queued = websub_waiting.requeue_stranded(list(WebSubSubscription.objects.values_list("pk", flat=True)))
    for row_id, state, when in due.values_list("pk", "state", "next_action_at")[:limit]:
        if not WebSubSubscription.objects.filter(pk=row_id, next_action_at=when).update(next_action_at=now + VERIFY_WAIT):
            continue
        if state == State.OFF and not push_enabled():
            WebSubSubscription.objects.filter(pk=row_id).update(next_action_at=None)
            continue
        if state == State.OFF:
            _set_state(row_id, state=State.PENDING)
        jobs.enqueue("aggregator.tasks.websub_request", row_id)
        queued += 1
    return queued
