"""WebSub push state of a source: subscribing to its hub, the hub's intent checks and deliveries, renewals,
and the last unfollow's unsubscribe. Beside ``push`` (XMPP), which decides what a working push means for polling.

A poll that finds hubs calls ``adopt_hub``; the subscription request itself leaves through the
``aggregator.tasks.websub_request`` task, after the row (token, secret, pending state) is committed, because a
hub may check intent before it even answers the request. ``sweep`` renews leases before they run out and
retries what failed. Deliveries are ``websub_deliveries``' (checked in the web process, stored by a worker).
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from aggregator import jobs
from aggregator.ingest import push, websub_waiting
from aggregator.models import WebSubSubscription
from aggregator.networks import websub

log = logging.getLogger(__name__)
State = WebSubSubscription.State

VERIFY_WAIT = timedelta(hours=1)  # a hub that accepted but never checked intent is asked again after this
RENEW_AT = 0.8  # of the granted lease: renewed well before it runs out
MIN_RENEW_MARGIN = timedelta(seconds=30)
DENIED_RETRY = timedelta(days=1)
MAX_UNSUBSCRIBE_ATTEMPTS = 3
RETRY_BASE = timedelta(minutes=5)
RETRY_MAX = timedelta(days=1)
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


def hub_delivered(*, subscription_id: int, state: str) -> None:
    """A delivery arrived (the subscription was in ``state``): a silent hub proved itself again."""
    if state == State.SILENT:
        _set_state(subscription_id, state=State.ACTIVE)


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
