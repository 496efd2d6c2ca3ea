"""Thin Celery tasks: load by id, call the service."""

from celery import shared_task

from . import imports, polling, scheduler
from .networks.xmpp import store as xmpp_store


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


@shared_task(name="aggregator.tasks.store_xmpp_items")
def store_xmpp_items(source_id: int, items: list[list[str]], pushed: bool = True) -> int:
    """Items of a PubSub node, as ``[item id, payload XML, publisher JID]``; returns how many posts are new."""
    result = xmpp_store.store_items(source_id=source_id, items=[tuple(item) for item in items], pushed=pushed)
    return len(result.created) if result else 0


@shared_task(name="aggregator.tasks.retract_xmpp_items")
def retract_xmpp_items(source_id: int, item_ids: list[str]) -> int:
    return len(xmpp_store.retract_items(source_id=source_id, item_ids=item_ids))


@shared_task(name="aggregator.tasks.run_follow_import")
def run_follow_import(import_id: int) -> str:
    """A follow list import (OPML, Mastodon CSV, X following.js): progress is sent live to the importer."""
    job = imports.run_import(import_id=import_id)
    return job.status if job else "not queued"
