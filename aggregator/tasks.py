"""Thin Celery tasks: load by id, call the service."""

from celery import shared_task

from . import polling, scheduler


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
