"""The push path of a source (XMPP PubSub, and WebSub whose own state is in ``websub``): its state, what the
listener must do, and what it means for polling.

Push first, poll second: a feed whose node or hub is pushing is polled only as a slow safety net; when the push
path is down (the listener is gone, the subscription failed or ran out) or has been silent for longer than the
source's posting rate explains, the feed is polled at its normal adaptive rate again. A WebSub hub that a poll
catches missing posts is "silent" until it delivers again.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Exists, OuterRef
from django.utils import timezone

from aggregator.events import send_on_commit
from aggregator.models import Source, Subscription, WebSubSubscription
from aggregator.networks.xmpp.address import NotAnXmppAddress, parse_xmpp_address
from timelines.serializers import source_status_json

log = logging.getLogger(__name__)

SAFETY_NET_INTERVAL = timedelta(hours=6)  # how often a feed is still polled while pushes cover it
MIN_SILENCE = timedelta(hours=6)  # no push for longer than this (or 3 posting intervals): push is not trusted
MAX_SILENCE = timedelta(days=7)
LISTENER_KEY = "chorus:xmpp:listener-alive"
LISTENER_TTL = 120  # seconds; the listener renews it every HEARTBEAT_SECONDS
HEARTBEAT_SECONDS = 30


@dataclass(frozen=True, slots=True)
class PushTarget:
    """A node the hub's XMPP session should be subscribed to, for a source somebody follows."""

    source_id: int
    jid: str
    node: str
    state: str
    needs_history: bool


def push_targets() -> list[PushTarget]:
    """Every pushed source that has at least one subscriber (one query; the listener runs it every few s)."""
    followed = Exists(Subscription.objects.filter(source_id=OuterRef("pk")))
    rows = (
        Source.objects.exclude(push_jid="").filter(followed)
        .values_list("pk", "push_jid", "push_node", "push_state", "history_synced_at")
    )  # fmt: skip
    return [PushTarget(pk, jid, node, state, synced is None) for pk, jid, node, state, synced in rows]


def adopt_push_node(*, source_id: int, xmpp_uri: str) -> bool:
    """A polled source gets a push path: its feed or its account (WebFinger) advertises an XMPP node. The
    listener subscribes to it, and once pushes arrive the feed is polled only as the safety net.

    A bad address is ignored (the feed still works); a source that has a node keeps it (the listener owns the
    push state once it is set). True when the node was adopted.
    """
    try:
        node = parse_xmpp_address(xmpp_uri) if xmpp_uri else None
    except NotAnXmppAddress:
        node = None
    if node is None:
        return False
    return bool(Source.objects.filter(pk=source_id, push_jid="").update(
        push_jid=node.jid, push_node=node.node, push_state=Source.PushState.PENDING
    ))  # fmt: skip


def record_push_state(*, source_id: int, state: str, error: str = "") -> None:
    """Store the push state the listener saw; followers' pages hear of a change (``source.status``)."""
    changed = (
        Source.objects.filter(pk=source_id).exclude(push_state=state, push_error=error[:2000])
        .update(push_state=state, push_error=error[:2000], push_state_at=timezone.now())
    )  # fmt: skip
    if changed:
        announce_source_status(source_id)


def record_session_lost(*, reason: str) -> None:
    """The hub's XMPP session is gone: every subscribed node shows it until the listener is back."""
    sources = list(Source.objects.filter(push_state=Source.PushState.SUBSCRIBED).values_list("pk", flat=True))
    for source_id in sources:
        record_push_state(source_id=source_id, state=Source.PushState.ERROR, error=f"XMPP session lost: {reason}")


def record_history_synced(*, source_id: int, when: datetime | None = None) -> None:
    Source.objects.filter(pk=source_id).update(history_synced_at=when or timezone.now())


def request_history(*, source_id: int) -> None:
    """Ask the listener to fetch the node's items again (the safety net for pure XMPP sources)."""
    Source.objects.filter(pk=source_id).update(history_synced_at=None)


def push_recorded(*, when: datetime) -> dict:
    """Items arrived by push at ``when``: the Source fields that say the push path works (and the source is
    healthy), for the caller's UPDATE of the row."""
    return {"last_push_at": when, "last_success_at": when}


def announce_source_status(source_id: int) -> None:
    """Followers' open pages hear of the source's health and push state (``source.status``)."""
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return
    followers = Subscription.objects.filter(source_id=source_id).values_list("user_id", flat=True)
    send_on_commit(user_ids=followers, event={"type": "source.status", "source": source_status_json(source)})


def listener_heartbeat() -> None:
    cache.set(LISTENER_KEY, timezone.now().isoformat(), LISTENER_TTL)


def listener_alive() -> bool:
    return cache.get(LISTENER_KEY) is not None


def silence_limit(posts_per_day: float) -> timedelta:
    """How long a push path may stay quiet before polling resumes: three of the source's posting intervals."""
    if posts_per_day <= 0:
        return MAX_SILENCE
    return max(MIN_SILENCE, min(MAX_SILENCE, timedelta(days=3 / posts_per_day)))


def push_covers(source: Source, *, now: datetime | None = None) -> bool:
    """True when pushes are arriving for this source (XMPP or WebSub), so its feed needs only the safety-net poll."""
    now = now or timezone.now()
    return _xmpp_covers(source, now) or _websub_covers(source, now)


def _xmpp_covers(source: Source, now: datetime) -> bool:
    if not source.push_jid or source.push_state != Source.PushState.SUBSCRIBED or not listener_alive():
        return False
    return _alive(source, [source.last_push_at, source.push_state_at], now)


def _websub_covers(source: Source, now: datetime) -> bool:
    """An active WebSub lease (the hub verified it and it has not run out) that showed life recently enough."""
    signs = (
        WebSubSubscription.objects.filter(source_id=source.pk, state=WebSubSubscription.State.ACTIVE, expires_at__gt=now)
        .values_list("last_delivery_at", "state_at").first()
    )  # fmt: skip
    return signs is not None and _alive(source, list(signs), now)


def _alive(source: Source, signs_of_life: list[datetime | None], now: datetime) -> bool:
    last_sign_of_life = max(filter(None, signs_of_life), default=None)
    return last_sign_of_life is not None and now - last_sign_of_life <= silence_limit(source.posts_per_day)


def record_missed_posts(*, source_id: int, count: int) -> None:
    """A poll of a pushed source found posts no push brought. An active WebSub hub is then taken for silent
    (public hubs are known to accept subscriptions and stop delivering): normal polling until it delivers again."""
    reason = f"a poll found {count} post{'s' if count != 1 else ''} the hub never sent"
    changed = WebSubSubscription.objects.filter(source_id=source_id, state=WebSubSubscription.State.ACTIVE).update(
        state=WebSubSubscription.State.SILENT, reason=reason, state_at=timezone.now()
    )
    if changed:
        log.info("source %s: WebSub hub is silent (%s); polled normally again", source_id, reason)
        announce_source_status(source_id)
