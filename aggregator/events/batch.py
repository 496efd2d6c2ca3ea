"""The live events of one transaction, published together once it commits: ``EventBatch``.

A write path makes one batch (or joins the one its caller passes down, as ingest's pipeline does for the store,
fan-out, reply and track steps), adds to it what to send, and calls ``publish_on_commit()`` at its end. The
batch's messages are built after the commit (so they read what was committed and cost the transaction nothing)
and leave in one ``publish``: an ingest batch's post.new, reply.new and track.match take one hop to the channel
layer, not three. If the transaction rolls back, nothing leaves (Django drops the hook). Best effort: a maker
that fails is logged and the others still leave.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.db import transaction

from aggregator.events.groups import Batch, close_message, messages_for
from aggregator.events.publisher import publish

log = logging.getLogger(__name__)


class EventBatch:
    def __init__(self) -> None:
        self._makers: list[Callable[[], Batch]] = []
        self._registered = False

    def add(self, make: Callable[[], Batch]) -> None:
        """After the commit, publish what ``make()`` returns then (in the order makers were added)."""
        self._makers.append(make)

    def send(self, *, user_ids: Iterable[int], event: dict) -> None:
        """After the commit, send ``event`` to these people."""
        recipients = sorted(set(user_ids))
        if recipients:
            self._makers.append(lambda: messages_for(user_ids=recipients, events=[event]))

    def close_streams(self, *, group: str) -> None:
        """After the commit, close every socket in ``group`` (a session logged out, a token revoked)."""
        self._makers.append(lambda: close_message(group))

    def publish_on_commit(self) -> None:
        """Hand the batch to the surrounding transaction: it is built and published once that commits. Makers
        added later (before the commit) still go with it. Outside a transaction, it is published now."""
        if self._makers and not self._registered:
            self._registered = True
            transaction.on_commit(self._publish, robust=True)

    def _publish(self) -> None:
        messages: Batch = []
        for make in self._makers:
            try:
                messages.extend(make())
            except Exception:  # best effort, as robust on_commit hooks are: the other events still leave
                log.exception("live events: building events after the commit failed")
        publish(messages)


@contextmanager
def joined(events: EventBatch | None) -> Iterator[EventBatch]:
    """``events`` when the caller passes its batch down; else a batch of one's own, handed to the surrounding
    transaction on leaving the block."""
    if events is not None:
        yield events
        return
    own = EventBatch()
    yield own
    own.publish_on_commit()


def send_on_commit(*, user_ids: Iterable[int], event: dict) -> None:
    """Send ``event`` to these people once the surrounding transaction commits (never if it rolls back)."""
    with joined(None) as events:
        events.send(user_ids=user_ids, event=event)


def close_streams_on_commit(*, group: str) -> None:
    """Close every socket in ``group`` once the surrounding transaction commits (defence: revoked credentials
    end live streams)."""
    with joined(None) as events:
        events.close_streams(group=group)


def send_now(*, user_ids: Iterable[int], event: dict) -> None:
    """Send ``event`` to these people now, whatever the transaction (progress that must show while it runs)."""
    publish(messages_for(user_ids=user_ids, events=[event]))
