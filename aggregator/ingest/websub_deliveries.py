"""WebSub deliveries: a hub's POST checked in the web process (``receive_delivery``: the rate cap, the
signature), left waiting in Redis (``websub_waiting``) and stored by a worker (``run_drainer``, through the
``aggregator.tasks.drain_websub_deliveries`` task, the deliveries that queued up in one transaction).

What a delivery needs of its subscription (id, source, secret) is held per process by callback token
(``callback_targets``, a ``db.snapshots`` version over an empty table filled one token at a time): a hub's stream
of deliveries then asks the database nothing. Every save and delete of a subscription (an unsubscribe, a new
secret) drops what every process holds (within ``CHORUS_SNAPSHOT_CHECK_SECONDS``); a signature that fails
against a held secret is checked again against the stored one, so a secret changed without a save (a bulk
``update``) never loses a good delivery. The subscription's state is ``websub``'s.
"""

import base64
import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from aggregator import jobs
from aggregator.content.entry import Entry, ParsedFeed
from aggregator.content.xmlsafety import UnsafeXML
from aggregator.db import shared_redis
from aggregator.db.by_pk import by_pk
from aggregator.db.rates import over_rate
from aggregator.db.snapshots import Snapshot
from aggregator.ingest import scheduler, websub, websub_waiting
from aggregator.ingest.pipeline import ingest_feed
from aggregator.models import Source, WebSubSubscription
from aggregator.networks.rss import KnownEntries, NotAFeed, parse, parser_version
from aggregator.networks.websub import signature_valid

log = logging.getLogger(__name__)

RATE_WINDOW = 60  # seconds
MAX_HELD_TARGETS = 50_000  # callback tokens held per process; past it the table starts empty again


def _no_targets_yet() -> dict[str, tuple[int, int, str]]:
    return {}


# token -> (subscription id, source id, secret), filled by ``_delivery_target``; AggregatorConfig.ready makes
# every save and delete of a WebSubSubscription start it empty again in every process.
callback_targets = Snapshot(key="chorus:websub:callbacks-version", load=_no_targets_yet, max_age=600)
SHARED_ENTRY_SECONDS = 300  # how long an entry one worker parsed waits in Redis for the others


class RedisEntries:
    """``KnownEntries``' shared tier in the shared Redis, each entry for ``SHARED_ENTRY_SECONDS``: a hub repeats
    a busy feed's window within minutes, a quiet feed's entries are rare enough to parse again. Nothing is
    shared without Redis (the embedded hub has one process)."""

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        if not settings.REDIS_URL:
            return [None] * len(keys)
        return shared_redis.client().mget([shared_redis.key(f"chorus:entries:{key}") for key in keys])

    def put_many(self, values: dict[str, bytes]) -> None:
        if not settings.REDIS_URL:
            return
        client = shared_redis.client()
        many = len(values) > 1
        target = client.pipeline(transaction=False) if many else client  # one entry: no pipeline to pay for
        for key, value in values.items():
            target.set(shared_redis.key(f"chorus:entries:{key}"), value, ex=SHARED_ENTRY_SECONDS)
        if many:
            target.execute()


# Entries of the fat pings this process (and, through Redis, every worker) parsed: a hub delivers the feed's
# newest entries again and again, and only the new ones are handed to feedparser (``parse`` gives the same
# result either way).
known_entries = KnownEntries(shared=RedisEntries(), version=parser_version())


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
    if signature_valid(body, secret=secret, header=signature):
        return True
    held = callback_targets.get()
    stored = _stored_target(token)
    if stored is None:
        held.pop(token, None)
        return False
    held[token] = stored
    if stored[2] == secret:
        return False
    return signature_valid(body, secret=stored[2], header=signature)


def store_waiting(*, subscription_id: int) -> int:
    """The task earlier versions queued for each subscription: store the deliveries that wait for it
    (``websub_waiting.drain``); returns how many were taken."""
    return websub_waiting.drain(subscription_id, _store_batch)


def run_drainer(*, token: str) -> int:
    """The drainer task's body: a turn over the runnable subscriptions (``websub_waiting.run_drainer``); returns
    how many deliveries were taken."""
    return websub_waiting.run_drainer(token, _store_batch)


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
    row = by_pk(WebSubSubscription, subscription_id, related="source")
    if row is None:
        return 0
    created = 0
    with transaction.atomic():
        feeds = [(_parsed(row, delivery), delivery.received_at) for delivery in deliveries]
        known_entries.share()
        if any(feed is None for feed, _ in feeds):
            _fetch_soon(row.source_id)
        for feed, entries, fetched_at in _merged([(feed, at) for feed, at in feeds if feed is not None]):
            created += len(ingest_feed(row.source, feed, entries=entries, fetched_at=fetched_at).created)
        newest = max(delivery.received_at for delivery in deliveries)
        _count_deliveries(row, len(deliveries), at=newest)
        websub.hub_delivered(subscription_id=row.pk, state=row.state)
    return created


def _count_deliveries(row: WebSubSubscription, count: int, *, at: datetime) -> None:
    """The subscription's delivery count and time, and the source's last success: what
    ``filter(pk=...).update(...)`` would write, in fixed statements (the query compiler costs more CPU than a
    delivery's own statements, as ``db.by_pk`` says); one on PostgreSQL (a data-modifying WITH query)."""
    quote, at = connection.ops.quote_name, connection.ops.adapt_datetimefield_value(at)
    subscription = (f"UPDATE {quote(WebSubSubscription._meta.db_table)} SET last_delivery_at = %s, "
                    "deliveries = deliveries + %s WHERE id = %s")  # fmt: skip
    source = f"UPDATE {quote(Source._meta.db_table)} SET last_success_at = %s WHERE id = %s"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"WITH source AS ({source}) {subscription}", [at, row.source_id, at, count, row.pk])
        else:
            cursor.execute(subscription, [at, count, row.pk])
            cursor.execute(source, [at, row.source_id])


def _parsed(row: WebSubSubscription, delivery: websub_waiting.Waiting) -> ParsedFeed | None:
    """The delivered document, or None for a thin ping or a body that is no feed (the source is fetched)."""
    if not delivery.body.strip():
        return None
    try:
        return parse(delivery.body, base_url=row.topic_url, content_type=delivery.content_type, known=known_entries)
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
