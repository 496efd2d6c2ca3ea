"""Pushed or fetched PubSub items -> the shared ingest path (same Entry, sanitizing and dedupe as RSS)."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from aggregator.db.by_pk import by_pk
from aggregator.ingest import push
from aggregator.ingest.pipeline import ingest, retract
from aggregator.ingest.store import StoreResult
from aggregator.models import Source
from aggregator.networks.xmpp.parse import parse_items

log = logging.getLogger(__name__)

PUSH_RECORDED_EVERY = timedelta(seconds=60)  # last_push_at is shown as "n minutes ago" and read in hours


def store_items(*, source_id: int, items: list[tuple[str, str, str]], pushed: bool,
                on_commit: Callable[[], None] | None = None) -> StoreResult | None:  # fmt: skip
    """Store ``(item id, payload XML, publisher JID)`` items of a node; bad items are dropped and logged.

    ``pushed`` says the items came as live events (not a history fetch): that is what tells the poller the
    push path works. ``on_commit`` runs right after the commit, before the live events are sent.
    """
    source = by_pk(Source, source_id)
    if source is None:
        return None
    entries, refused = parse_items(items)
    for item_id, error in refused:
        log.warning("dropped item %r of %s: %s", item_id, source.push_jid or source.address, error)
    now = timezone.now()
    with transaction.atomic():  # one commit for the posts and the push state
        if on_commit is not None:
            transaction.on_commit(on_commit, robust=True)  # first: before the hook of the pipeline's events
        result = ingest(source, entries, fetched_at=now)
        _record_health(source, pushed=pushed, now=now)
    return result


def _record_health(source: Source, *, pushed: bool, now: datetime) -> None:
    """Pushes work and the source is fine: one UPDATE, and none at all while a push was recorded just now
    (a fast source would otherwise rewrite its row with every batch)."""
    changes = {}
    if pushed and (source.last_push_at is None or now - source.last_push_at >= PUSH_RECORDED_EVERY):
        changes.update(push.push_recorded(when=now))
    if source.kind == Source.Kind.XMPP and source.status != Source.Status.OK:
        changes.update(status=Source.Status.OK, last_error="", last_success_at=now)
    if changes:
        Source.objects.filter(pk=source.pk).update(**changes)


def retract_items(*, source_id: int, item_ids: list[str]) -> list[int]:
    """The publisher retracted these items: their posts disappear and never come back."""
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return []
    return retract(source, item_ids)
