"""Thin Celery tasks: what the world hears of a person's posts (WebSub deliveries, Webmentions)."""

from celery import shared_task

from publishing import hub, outbox, webmention_send, webmentions, xmpp_publishing


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


@shared_task(name="publishing.tasks.verify_webmention")
def verify_webmention(webmention_id: int) -> str:
    return webmentions.verify(webmention_id=webmention_id)


@shared_task(name="publishing.tasks.send_webmention")
def send_webmention(sent_id: int) -> int | None:
    return webmention_send.send(sent_id=sent_id)


@shared_task(name="publishing.tasks.sweep_outbox")
def sweep_outbox() -> int:
    """Periodic: Webmention checks and sends, XMPP publications that are due (retries after a failure, lost or
    interrupted jobs, or left to the embedded runner)."""
    return outbox.sweep()


@shared_task(name="publishing.tasks.publish_on_xmpp")
def publish_on_xmpp(post_id: int) -> str:
    return xmpp_publishing.publish_post(post_id=post_id)
