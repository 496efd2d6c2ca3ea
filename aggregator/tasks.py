"""Thin Celery tasks: load by id, call the service."""

from celery import shared_task
from django.contrib.auth import get_user_model

from aggregator.following import avatars, imports
from aggregator.ingest import polling, scheduler, websub, websub_deliveries
from aggregator.ingest import xmpp_items as xmpp_store
from aggregator.runtime import xmpp_outbox
from timelines import retention
from timelines import services as timeline_services


@shared_task(name="aggregator.tasks.schedule_due_polls")
def schedule_due_polls() -> int:
    """Claim the sources that are due and hand each to a worker."""
    claimed = scheduler.claim_due_sources()
    for source_id in claimed:
        poll_source.delay(source_id)
    return len(claimed)


@shared_task(name="aggregator.tasks.poll_source")
def poll_source(source_id: int) -> str:
    return polling.poll_source(source_id=source_id).status


@shared_task(name="aggregator.tasks.learn_source_picture")
def learn_source_picture(source_id: int) -> str:
    return avatars.learn_picture(source_id=source_id)


@shared_task(name="aggregator.tasks.store_xmpp_items")
def store_xmpp_items(source_id: int, items: list[list[str]], pushed: bool = True, notify: str = "") -> int:
    """Items of a PubSub node, as ``[item id, payload XML, publisher JID]``; returns how many posts are new.
    ``notify``: the listener's channel, told as soon as the items are committed (or nothing will be)."""
    with xmpp_outbox.answering(notify, source_id=source_id) as on_commit:
        result = xmpp_store.store_items(source_id=source_id, items=[tuple(item) for item in items], pushed=pushed,
                                        on_commit=on_commit)  # fmt: skip
    return len(result.created) if result else 0


@shared_task(name="aggregator.tasks.retract_xmpp_items")
def retract_xmpp_items(source_id: int, item_ids: list[str]) -> int:
    return len(xmpp_store.retract_items(source_id=source_id, item_ids=item_ids))


@shared_task(name="aggregator.tasks.run_follow_import", soft_time_limit=300, time_limit=360)
def run_follow_import(import_id: int) -> str:
    """A slice of a follow list import (OPML, Mastodon CSV, X following.js); it queues the next slice itself.
    Limits: a slice is ``imports.SLICE_SECONDS`` plus one account's lookup (several fetch deadlines)."""
    job = imports.run_import(import_id=import_id)
    return job.status if job else "not queued"


@shared_task(name="aggregator.tasks.recover_stale_imports")
def recover_stale_imports() -> int:
    """Imports whose worker died (resumed, or failed with the reason) or whose queued message was lost (sent
    again); returns how many were queued again."""
    return len(imports.recover_stale_imports()) + len(imports.requeue_lost_imports())


@shared_task(name="aggregator.tasks.websub_request")
def websub_request(subscription_id: int) -> str:
    """Send a WebSub subscription's pending request (subscribe, renew or unsubscribe) to its hub."""
    return websub.send_request(subscription_id=subscription_id)


@shared_task(name="aggregator.tasks.drain_websub_deliveries")
def drain_websub_deliveries(token: str) -> int:
    """A turn of storing the WebSub deliveries that wait (their signatures verified by the callback), for every
    subscription with some, in the drainer's slot ``token``; returns how many were taken."""
    return websub_deliveries.run_drainer(token=token)


@shared_task(name="aggregator.tasks.store_websub_deliveries")
def store_websub_deliveries(subscription_id: int) -> int:
    """The WebSub deliveries that wait for one subscription, as earlier versions queued them (messages still in
    the broker at an upgrade); returns how many were taken."""
    return websub_deliveries.store_waiting(subscription_id=subscription_id)


@shared_task(name="aggregator.tasks.store_websub_delivery")
def store_websub_delivery(subscription_id: int, body_base64: str, content_type: str, received_at: str) -> int:
    """A WebSub delivery queued with its body in the message (as earlier versions did): parse and ingest it;
    returns how many posts are new."""
    return websub_deliveries.store_queued_delivery(subscription_id=subscription_id, body_base64=body_base64,
                                        content_type=content_type, received_at=received_at)  # fmt: skip


@shared_task(name="aggregator.tasks.sweep_websub")
def sweep_websub() -> int:
    """Renew WebSub leases before they run out and retry failed requests; returns how many were queued."""
    return websub.sweep()


@shared_task(name="aggregator.tasks.recount_unread")
def recount_unread(user_id: int) -> None:
    """A person's kept unread counts, counted again in the background (``timelines/unread_cache.py``)."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is not None:
        timeline_services.recount_unread(user=user)


@shared_task(name="aggregator.tasks.prune_history", soft_time_limit=600, time_limit=660)
def prune_history() -> int:
    """Remove read, unstarred posts older than ``CHORUS_KEEP_READ_DAYS``, in batches; returns how many."""
    return retention.prune_history()
