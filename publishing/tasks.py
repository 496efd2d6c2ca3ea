"""Thin Celery tasks: what the world hears of a person's posts (WebSub deliveries, Webmentions)."""

from celery import shared_task

from publishing import hub, outbound


@shared_task(name="publishing.tasks.announce_post")
def announce_post(post_id: int) -> int:
    """A post was written or deleted: owe its feed's subscribers a delivery, and tell whom it mentions."""
    return outbound.announce(post_id=post_id)


@shared_task(name="publishing.tasks.verify_hub_intent")
def verify_hub_intent(subscription_id: int, mode: str) -> bool:
    return hub.verify_intent(subscription_id=subscription_id, mode=mode)


@shared_task(name="publishing.tasks.deliver_to_subscriber")
def deliver_to_subscriber(subscription_id: int) -> bool:
    return hub.deliver(subscription_id=subscription_id)


@shared_task(name="publishing.tasks.sweep_hub")
def sweep_hub() -> int:
    """Periodic: expired leases dropped, deliveries retried when their backoff ends."""
    return hub.sweep()
