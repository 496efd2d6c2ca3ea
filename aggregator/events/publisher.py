"""The process's one way out to the channel layer: ``publish(batch)`` of ``(group, message)`` pairs.

Sending is best effort: a channel layer that is down or slow never fails the write that caused the event,
nor stalls it for more than ``WAIT_TIMEOUT`` (failures are logged); a page that missed events catches up
through the timeline's ``after`` cursor and ``GET /api/v1/unread``.

Every send of a process goes through one event loop on a daemon thread (``_Publisher``): one long-lived set
of Redis connections instead of a new loop and connection per call (``async_to_sync``), messages leave in
the order they were sent, and whatever several threads queued while a batch was on the wire leaves with the
next one, through the layer's ``group_send_many`` (``layers``). In embedded mode the in-memory
layer lives inside ``serve``; in production channels_redis carries events from workers to the web processes.
"""

import asyncio
import atexit
import concurrent.futures
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from aggregator.events.groups import Batch

log = logging.getLogger(__name__)

SEND_TIMEOUT = 5.0  # seconds one batch may take on the wire before it is given up
WAIT_TIMEOUT = 0.5  # seconds a sender waits for its batch to leave; past that it goes on, and stops waiting
MAX_PENDING = 50_000  # (group, message) pairs waiting to be sent; past that new ones are dropped
MAX_BATCH = 10_000  # pairs coalesced into one group_send_many


class Observer(Protocol):
    """Told what the publisher does, for timing (bench/live.py). Called on the sender's thread (``queued``)
    and on the publisher's thread (``sent``, with ``ok`` False when the layer failed or timed out): keep it
    cheap. What it raises is logged and ignored."""

    def queued(self, batch: Batch) -> None: ...

    def sent(self, batch: Batch, *, started: float, ended: float, ok: bool) -> None: ...


_observers: tuple[Observer, ...] = ()  # replaced, never changed in place: the publisher's thread reads it


def observe(observer: Observer) -> Callable[[], None]:
    """Tell ``observer`` of every batch this process publishes; returns the function that stops it."""
    global _observers
    _observers = (*_observers, observer)

    def stop() -> None:
        global _observers
        _observers = tuple(o for o in _observers if o is not observer)

    return stop


def _tell(call: Callable[[Observer], None]) -> None:
    for observer in _observers:
        try:
            call(observer)
        except Exception:  # an observer never stops events
            log.exception("live events: an observer failed")


def publish(batch: Batch) -> None:
    """Send each message to its group through the configured channel layer, best effort."""
    layer = get_channel_layer()
    if layer is None or not batch:
        return
    if hasattr(layer, "group_send_many"):  # the project's layers (observers hear of these batches only)
        if _observers:
            _tell(lambda observer: observer.queued(batch))
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
        it does not compete for the GIL with this loop (returning at once slows that sending down).
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
                started = time.time()
                try:
                    await asyncio.wait_for(layer.group_send_many(batch), SEND_TIMEOUT)
                except Exception as error:  # noqa: BLE001 - best effort: log, never stop sending
                    sent = False
                    log.warning("live events: %d messages not sent: %r", len(batch), error)
                if _observers:
                    ended = time.time()
                    _tell(lambda observer: observer.sent(batch, started=started, ended=ended, ok=sent))  # noqa: B023
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
