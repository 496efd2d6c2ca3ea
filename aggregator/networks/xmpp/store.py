"""Pushed or fetched PubSub items -> the shared ingest path (same Entry, sanitizing and dedupe as RSS)."""

import logging

from django.utils import timezone

from aggregator import push
from aggregator.ingest import StoreResult, retract_posts, store_entries
from aggregator.models import Source

from .parse import parse_items

log = logging.getLogger(__name__)


def store_items(*, source_id: int, items: list[tuple[str, str, str]], pushed: bool) -> StoreResult | None:
    """Store ``(item id, payload XML, publisher JID)`` items of a node; bad items are dropped and logged.

    ``pushed`` says the items came as live events (not a history fetch): that is what tells the poller the
    push path works.
    """
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return None
    entries, refused = parse_items(items)
    for item_id, error in refused:
        log.warning("dropped item %r of %s: %s", item_id, source.push_jid or source.address, error)
    now = timezone.now()
    result = store_entries(source, entries, fetched_at=now)
    if pushed:
        push.record_push(source_id=source_id, when=now)
    if source.kind == Source.Kind.XMPP and source.status != Source.Status.OK:
        Source.objects.filter(pk=source_id).update(status=Source.Status.OK, last_error="", last_success_at=now)
    return result


def retract_items(*, source_id: int, item_ids: list[str]) -> list[int]:
    """The publisher retracted these items: their posts disappear and never come back."""
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return []
    return retract_posts(source, item_ids)
