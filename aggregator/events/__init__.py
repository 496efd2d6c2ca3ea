"""Live events out of a process: the groups that hear them, the per-transaction batch that publishes them after
the commit, and the publisher that hands them to the channel layer. ``timelines.consumers`` is the receiving end.
"""

from aggregator.events.batch import EventBatch, close_streams_on_commit, joined, send_now, send_on_commit
from aggregator.events.groups import (
    CLOSE_MESSAGE_TYPE,
    EVENT_MESSAGE_TYPE,
    Batch,
    messages_for,
    session_group,
    token_group,
    user_group,
)
from aggregator.events.publisher import flush, observe, publish

__all__ = [
    "CLOSE_MESSAGE_TYPE", "EVENT_MESSAGE_TYPE", "Batch", "EventBatch", "close_streams_on_commit", "flush", "joined",
    "messages_for", "observe", "publish", "send_now", "send_on_commit", "session_group", "token_group", "user_group",
]  # fmt: skip
