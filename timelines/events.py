"""Live events: published to each person's group ``user.<id>`` only after the database commit.

Sending is best effort: a channel layer that is down or slow never fails the write that caused the event,
nor stalls it for more than ``WAIT_TIMEOUT`` (failures are logged); a page that missed events catches up
through the timeline's ``after`` cursor and ``GET /api/v1/unread``.

Every send of a process goes through one event loop on a daemon thread (``_Publisher``): one long-lived set
of Redis connections instead of a new loop and connection per call (``async_to_sync``), messages leave in
the order they were sent, and whatever several threads queued while a batch was on the wire leaves with the
next one, through the layer's ``group_send_many`` (timelines/layers.py). In embedded mode the in-memory
layer lives inside ``serve``; in production channels_redis carries events from workers to the web processes.
"""

import asyncio
import atexit
import concurrent.futures
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

EVENT_MESSAGE_TYPE = "stream.event"  # dispatched to StreamConsumer.stream_event
CLOSE_MESSAGE_TYPE = "stream.close"  # dispatched to StreamConsumer.stream_close
SEND_TIMEOUT = 5.0  # seconds one batch may take on the wire before it is given up
WAIT_TIMEOUT = 0.5  # seconds a sender waits for its batch to leave; past that it goes on, and stops waiting
MAX_PENDING = 50_000  # (group, message) pairs waiting to be sent; past that new ones are dropped
MAX_BATCH = 10_000  # pairs coalesced into one group_send_many

Batch = list[tuple[str, dict]]  # (group, message) pairs


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
    transaction.on_commit(lambda: publish([(group, {"type": CLOSE_MESSAGE_TYPE})]), robust=True)


def send_on_commit(*, user_ids: Iterable[int], event: dict) -> None:
    """Send ``event`` to these people once the surrounding transaction commits (never if it rolls back)."""
    recipients = sorted(set(user_ids))
    if recipients:
        transaction.on_commit(lambda: send_now(user_ids=recipients, event=event), robust=True)


def send_now(*, user_ids: Iterable[int], event: dict) -> None:
    send_many(user_ids=user_ids, events=[event])


def send_many(*, user_ids: Iterable[int], events: list[dict]) -> None:
    """Send several events to several people in one batch: each person gets them in this order."""
    publish(messages_for(user_ids=user_ids, events=events))


def messages_for(*, user_ids: Iterable[int], events: list[dict]) -> Batch:
    """The (group, message) pairs that give these events, in this order, to each of these people."""
    messages = [{"type": EVENT_MESSAGE_TYPE, "event": event} for event in events]
    return [(user_group(user_id), message) for message in messages for user_id in user_ids]


def publish_on_commit(make: Callable[[], Batch]) -> None:
    """Once the surrounding transaction commits, publish the messages ``make()`` returns then (never if it
    rolls back). Every ``make`` of one transaction (at one savepoint level) shares a single ``publish``: an
    ingest batch's post.new, reply.new and track.match events take one hop to the channel layer, not three.
    Best effort: a ``make`` that fails is logged and the others still leave."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        level = set(connection.savepoint_ids)
        for savepoints, hook, _ in reversed(connection.run_on_commit):  # Django's list of pending hooks
            if isinstance(hook, _OnCommitPublish) and savepoints == level:
                hook.makers.append(make)
                return
    transaction.on_commit(_OnCommitPublish(make), robust=True)


class _OnCommitPublish:
    def __init__(self, make: Callable[[], Batch]) -> None:
        self.makers = [make]

    def __call__(self) -> None:
        batch: Batch = []
        for make in self.makers:
            try:
                batch.extend(make())
            except Exception:  # best effort, as robust on_commit hooks are: the other events still leave
                log.exception("live events: building events after the commit failed")
        publish(batch)


def publish(batch: Batch) -> None:
    """Send each message to its group through the configured channel layer, best effort."""
    layer = get_channel_layer()
    if layer is None or not batch:
        return
    if hasattr(layer, "group_send_many"):
        _publisher().send(layer, batch)
    else:  # a layer of Channels' own: one hop into a fresh event loop, as Channels documents
        async_to_sync(_send_each)(layer, batch)


def flush(timeout: float = SEND_TIMEOUT) -> bool:
    """Wait until everything this process queued so far has been handed to the channel layer (or given up).
    Returns False if that took longer than ``timeout``. For tests, benchmarks and process exits."""
    publisher = _current
    return publisher is None or publisher.pid != os.getpid() or publisher.flush(timeout)


async def _send_each(layer, batch: list[tuple[str, dict]]) -> None:
    for group, message in batch:
        await layer.group_send(group, message)


async def _deliver(layer, batch: list[tuple[str, dict]]) -> None:
    await layer.group_send_many(batch)


class _Publisher:
    """One event loop on a daemon thread, sending queued batches one after another, oldest first."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.queue: deque = deque()  # (layer or None for a flush, batch, future): touched on the loop only
        self.waiting = 0  # pairs in the queue
        self.lagging = False  # a sender waited WAIT_TIMEOUT in vain: senders stop waiting until the queue drains
        self.ready = asyncio.Event()
        self.thread = threading.Thread(target=self._run, name="chorus-events", daemon=True)
        self.thread.start()

    def send(self, layer, batch: list[tuple[str, dict]]) -> None:
        """Queue the batch and wait until it has left (at most WAIT_TIMEOUT). While the caller's thread waits
        it does not compete for the GIL with this loop (returning at once gave bench/live.py a worse p99).
        Never waits inside an event loop (that would stall it)."""
        done = concurrent.futures.Future()
        self.loop.call_soon_threadsafe(self._put, layer, batch, done)
        if self.lagging or _in_event_loop():
            return
        try:
            done.result(WAIT_TIMEOUT)
        except concurrent.futures.TimeoutError:
            self.lagging = True
            log.warning("live events: the channel layer is slow; senders stop waiting until it catches up")

    def flush(self, timeout: float) -> bool:
        done = concurrent.futures.Future()
        self.loop.call_soon_threadsafe(self._put, None, [], done)
        try:
            done.result(timeout)
        except concurrent.futures.TimeoutError:
            return False
        return True

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._drain())

    def _put(self, layer, batch: list, done: concurrent.futures.Future) -> None:
        if self.waiting + len(batch) > MAX_PENDING:
            log.warning("live events: %d messages already waiting; %d dropped", self.waiting, len(batch))
            done.set_result(False)
            return
        self.waiting += len(batch)
        self.queue.append((layer, batch, done))
        self.ready.set()

    async def _drain(self) -> None:
        while True:
            await self.ready.wait()
            self.ready.clear()
            while self.queue:
                layer, batch, done = self.queue.popleft()
                if layer is None:  # a flush marker: everything queued before it is done
                    done.set_result(True)
                    continue
                waiters = [done]
                while self.queue and self.queue[0][0] is layer and len(batch) < MAX_BATCH:
                    _, more, done = self.queue.popleft()  # queued meanwhile: same round trip
                    batch, waiters = batch + more, [*waiters, done]
                self.waiting -= len(batch)
                sent = True
                try:
                    await asyncio.wait_for(_deliver(layer, batch), SEND_TIMEOUT)
                except Exception as error:  # noqa: BLE001 - best effort: log, never stop sending
                    sent = False
                    log.warning("live events: %d messages not sent: %r", len(batch), error)
                for waiter in waiters:
                    waiter.set_result(sent)
            self.lagging = False


_current: _Publisher | None = None
_lock = threading.Lock()


def _publisher() -> _Publisher:
    """This process's publisher, started on first use; a forked child (Celery prefork) starts its own."""
    global _current
    publisher = _current
    if publisher is None or publisher.pid != os.getpid() or not publisher.thread.is_alive():
        with _lock:
            publisher = _current
            if publisher is None or publisher.pid != os.getpid() or not publisher.thread.is_alive():
                publisher = _current = _Publisher()
    return publisher


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # a fork while another thread held it would leave it locked forever


def _flush_at_exit() -> None:
    flush(timeout=2.0)  # a short-lived process (a management command) sends what it queued


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_flush_at_exit)
