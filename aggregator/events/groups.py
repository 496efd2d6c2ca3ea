"""Who hears an event: the channel-layer groups of a person, a browser session and an API token, and the
messages the socket consumer (``timelines.consumers.StreamConsumer``) dispatches."""

from collections.abc import Iterable

EVENT_MESSAGE_TYPE = "stream.event"  # dispatched to StreamConsumer.stream_event
CLOSE_MESSAGE_TYPE = "stream.close"  # dispatched to StreamConsumer.stream_close

Batch = list[tuple[str, dict]]  # (group, message) pairs


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_group(session_key: str) -> str:
    """The sockets a browser session opened: closed when that session logs out."""
    return f"session.{session_key}"


def token_group(token_id: int) -> str:
    """The sockets an API token opened: closed when the token is revoked."""
    return f"token.{token_id}"


def messages_for(*, user_ids: Iterable[int], events: list[dict]) -> Batch:
    """The (group, message) pairs that give these events, in this order, to each of these people."""
    messages = [{"type": EVENT_MESSAGE_TYPE, "event": event} for event in events]
    return [(user_group(user_id), message) for message in messages for user_id in user_ids]


def close_message(group: str) -> Batch:
    """The message that closes every socket of ``group``."""
    return [(group, {"type": CLOSE_MESSAGE_TYPE})]
