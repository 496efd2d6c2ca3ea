"""Live events: published to each person's group ``user.<id>`` only after the database commit.

Sending is best effort (``robust`` on-commit hooks): a channel layer that is down never fails the write that
caused the event, and a page that missed events catches up through the timeline's ``after`` cursor.

Write paths call ``send_on_commit``; the WebSocket consumer forwards whatever reaches its group. In embedded
mode the in-memory channel layer lives inside ``serve``; in production channels_redis carries events from
workers to the web processes.
"""

from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

EVENT_MESSAGE_TYPE = "stream.event"  # dispatched to StreamConsumer.stream_event
CLOSE_MESSAGE_TYPE = "stream.close"  # dispatched to StreamConsumer.stream_close


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_group(session_key: str) -> str:
    """The sockets a browser session opened: closed when that session logs out."""
    return f"session.{session_key}"


def token_group(token_id: int) -> str:
    """The sockets an API token opened: closed when the token is revoked."""
    return f"token.{token_id}"


def close_streams_on_commit(*, group: str) -> None:
    """Close every socket in ``group`` once the surrounding transaction commits (HOSTILE.md 30)."""
    layer = get_channel_layer()
    if layer is not None:
        transaction.on_commit(lambda: async_to_sync(layer.group_send)(group, {"type": CLOSE_MESSAGE_TYPE}), robust=True)


def send_on_commit(*, user_ids: Iterable[int], event: dict) -> None:
    """Send ``event`` to these people once the surrounding transaction commits (never if it rolls back)."""
    recipients = sorted(set(user_ids))
    if recipients:
        transaction.on_commit(lambda: send_now(user_ids=recipients, event=event), robust=True)


def send_now(*, user_ids: Iterable[int], event: dict) -> None:
    send_many(user_ids=user_ids, events=[event])


def send_many(*, user_ids: Iterable[int], events: list[dict]) -> None:
    """Send several events to several people in one hop into the event loop (one call per batch, not per event)."""
    layer = get_channel_layer()
    recipients = list(user_ids)
    if layer is None or not recipients or not events:
        return
    messages = [{"type": EVENT_MESSAGE_TYPE, "event": event} for event in events]
    async_to_sync(_send_all)(layer, recipients, messages)


async def _send_all(layer, user_ids: list[int], messages: list[dict]) -> None:
    for message in messages:
        for user_id in user_ids:
            await layer.group_send(user_group(user_id), message)
