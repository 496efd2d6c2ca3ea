"""Pushed items on their way from the listener to the worker: at once when the source's last task is done.

Each source has at most one store task in flight. An item of a source with nothing in flight leaves at
once, alone; items that arrive while a task is in flight wait in the source's buffer and leave together, as
one task, the moment that task has committed. So a quiet source pays no batching delay, and a source that
pushes faster than one task stores gets bigger batches instead of a growing queue (one task storing ten
items costs far less than ten one-item tasks; tasks of one source would wait on its row lock anyway).

The worker says a task committed by publishing the source id on the listener's own Redis channel, named
in the task (``notify``). Where tasks run eagerly (embedded mode, tests) the hand-off returns after the
commit, which says the same. A notice that never comes (a worker killed, Redis down) holds a source back
for at most ``STORED_TIMEOUT`` seconds; a buffer of ``HISTORY_PAGE`` items leaves whatever is in flight.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator

from aggregator import jobs
from aggregator.db import shared_redis

log = logging.getLogger(__name__)

HISTORY_PAGE = 50  # items per task
MAX_IN_FLIGHT = 1  # store tasks of one source queued or running at a time
STORED_TIMEOUT = 2.0  # seconds a source waits for its task's notice before it sends the next one anyway
CHANNEL_PREFIX = "chorus:xmpp:stored:"


def hand_off_items(source_id: int, items: list[list[str]], pushed: bool, notify: str = "") -> None:
    """Queue ``store_xmpp_items`` tasks, ``HISTORY_PAGE`` items each (blocking: call it off the event loop)."""
    for start in range(0, len(items), HISTORY_PAGE):
        jobs.enqueue("aggregator.tasks.store_xmpp_items", source_id, items[start : start + HISTORY_PAGE], pushed, notify)


def notices_url() -> str:
    """The Redis the worker answers on; "" where tasks run eagerly (then a hand-off returns after the commit)."""
    from django.conf import settings

    return "" if jobs.runs_inline() else settings.REDIS_URL


@contextlib.contextmanager
def answering(channel: str, *, source_id: int) -> Iterator[Callable[[], None] | None]:
    """Worker side: yields the callback to run right after the commit, which tells the listener behind
    ``channel`` that this task of the source is done; told on the way out if that never ran (nothing to
    store, an error). Yields None when nobody is listening (a history page, an old message)."""
    if not channel.startswith(CHANNEL_PREFIX):
        yield None
        return
    told = False

    def tell() -> None:
        nonlocal told
        if not told:
            told = True
            try:
                shared_redis.client().publish(channel, str(source_id))
            except Exception as error:  # noqa: BLE001 - best effort: the listener falls back on its timeout
                log.warning("could not tell the XMPP listener that source %s was stored: %r", source_id, error)

    try:
        yield tell
    finally:
        tell()


class Outbox:
    """The listener's side (lives on its event loop). ``send(source_id, items, notify)`` is awaited in a task
    and must queue the items for storing; ``notify`` is the channel the worker answers on. Without
    ``redis_url`` there are no notices: a task counts as committed when ``send`` returns (eager tasks)."""

    def __init__(self, send: Callable[[int, list[list[str]], str], Awaitable[None]], *, redis_url: str) -> None:
        self.send = send
        self.redis_url = redis_url
        self.channel = f"{CHANNEL_PREFIX}{uuid.uuid4().hex}" if redis_url else ""
        self.buffers: dict[int, dict[str, list[str]]] = {}
        self.in_flight: dict[int, tuple[int, float]] = {}  # source id -> (tasks not yet committed, give up at)
        self._timers: dict[int, asyncio.TimerHandle] = {}

    def add(self, source_id: int, items: list[list[str]]) -> None:
        buffer = self.buffers.setdefault(source_id, {})
        for item in items:
            buffer.pop(item[0], None)  # the last version of an item wins, in arrival order
            buffer[item[0]] = item
        if len(buffer) >= HISTORY_PAGE or not self._waiting(source_id):
            self.flush(source_id)

    def flush(self, source_id: int) -> None:
        """Send what the source's buffer holds now, whatever is in flight (also before a retraction)."""
        buffer = self.buffers.pop(source_id, None)
        if not buffer:
            return
        count, _ = self.in_flight.get(source_id, (0, 0.0))
        self.in_flight[source_id] = (count + 1, time.monotonic() + STORED_TIMEOUT)
        asyncio.get_running_loop().create_task(self._send(source_id, list(buffer.values())))

    def stored(self, source_id: int) -> None:
        """A task of this source committed: the next batch may leave."""
        count, give_up_at = self.in_flight.get(source_id, (0, 0.0))
        if count <= 1:
            self.in_flight.pop(source_id, None)
            timer = self._timers.pop(source_id, None)
            if timer is not None:
                timer.cancel()
        else:
            self.in_flight[source_id] = (count - 1, give_up_at)
        if source_id in self.buffers and not self._waiting(source_id):
            self.flush(source_id)

    def _waiting(self, source_id: int) -> bool:
        """Whether the source's items must wait for a task in flight; if so, a timer makes sure they leave."""
        count, give_up_at = self.in_flight.get(source_id, (0, 0.0))
        if count < MAX_IN_FLIGHT:
            return False
        if time.monotonic() >= give_up_at:
            log.info("no stored notice for source %s within %.1f s; sending its next items anyway", source_id,
                     STORED_TIMEOUT)  # fmt: skip
            self.in_flight.pop(source_id, None)
            return False
        if source_id not in self._timers:
            loop = asyncio.get_running_loop()
            delay = give_up_at - time.monotonic()
            self._timers[source_id] = loop.call_later(delay, self._timer_fired, source_id)
        return True

    def _timer_fired(self, source_id: int) -> None:
        self._timers.pop(source_id, None)
        if source_id in self.buffers and not self._waiting(source_id):
            self.flush(source_id)

    async def _send(self, source_id: int, items: list[list[str]]) -> None:
        try:
            await self.send(source_id, items, self.channel)
        except Exception:
            log.exception("could not hand %d items of source %s to the worker", len(items), source_id)
            self.stored(source_id)  # nothing in flight after all
            return
        if not self.channel:
            self.stored(source_id)

    async def listen(self) -> None:
        """Receive the worker's notices until cancelled; reconnects with backoff (timeouts cover the gaps)."""
        if not self.channel:
            return
        import redis.asyncio as aioredis

        backoff = 0.5
        while True:
            client = aioredis.Redis.from_url(self.redis_url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    backoff = 0.5
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            with contextlib.suppress(ValueError):
                                self.stored(int(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - keep listening; the timeout covers the gap
                log.warning("XMPP listener: stored notices lost (%r); reconnecting in %.1f s", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(30.0, backoff * 2)
            finally:
                await client.aclose()

