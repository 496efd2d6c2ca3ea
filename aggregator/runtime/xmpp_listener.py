"""The hub's XMPP session: subscribes to the nodes people follow and hands what they push to the worker.

One long-running ``Listener`` (``manage.py xmpp_listen``, or a thread of ``serve``) holds the session:
- every ``sync_interval`` seconds it compares the nodes followed in the database with those it subscribed to,
  subscribes to new ones (explicit PubSub subscription; presence subscription where the access model needs it)
  and fetches each node's items (on subscribing, after every reconnect, and when the scheduler asks);
- events are accepted only from the JID subscribed to and only for subscribed nodes (no forged or unasked-for
  events), and go to the ``store_xmpp_items`` / ``retract_xmpp_items`` tasks: the same ingest path as RSS;
- a lost session is logged with its reason and retried with exponential backoff.
"""

import asyncio
import contextlib
import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from xml.etree import ElementTree

import slixmpp
from asgiref.sync import sync_to_async
from django.db import connections
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from aggregator import jobs
from aggregator.ingest import push
from aggregator.models import Source
from aggregator.networks.xmpp.address import MICROBLOG_NODE
from aggregator.networks.xmpp.client import HubClient, Settings, finish_tasks, hub_client
from aggregator.networks.xmpp.parse import MAX_PAYLOAD_BYTES
from aggregator.runtime.xmpp_outbox import Outbox, hand_off_items, notices_url

log = logging.getLogger(__name__)

IQ_TIMEOUT = 20
CONNECT_TIMEOUT = 30
HISTORY_MAX_ITEMS = 256  # per node and fetch (Prosody keeps at most 256)
MIN_BACKOFF, MAX_BACKOFF = 1.0, 300.0
STABLE_SESSION = 60.0  # a session that lasted this long resets the backoff
RETRY_FIRST, RETRY_MAX = 30.0, 3600.0  # a refused subscription is asked again after this, doubling
_PRESENCE_CONDITIONS = {"forbidden", "not-authorized", "not-allowed", "registration-required"}


class _DatabaseWork:
    """How many of the listener's database calls are under way (counted from the moment one is handed to a
    thread until it returned there): a stopped listener's last hand-offs finish before its owner goes on."""

    def __init__(self) -> None:
        self.running = 0
        self.idle = threading.Condition()

    def begin(self) -> None:
        with self.idle:
            self.running += 1

    def done(self) -> None:
        with self.idle:
            self.running -= 1
            self.idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self.idle:
            return self.idle.wait_for(lambda: self.running <= 0, timeout)


_database_work = _DatabaseWork()


def _db(function: Callable) -> Callable:
    """Run an ORM call off the event loop, on a fresh or healthy connection (the session is long-lived)."""

    def in_thread(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()  # executor threads come and go: never leave a connection behind
            _database_work.done()

    run = sync_to_async(in_thread, thread_sensitive=False)

    async def call(*args, **kwargs):
        _database_work.begin()
        return await run(*args, **kwargs)

    return call


def _hand_off_retractions(source_id: int, item_ids: list[str]) -> None:
    jobs.enqueue("aggregator.tasks.retract_xmpp_items", source_id, item_ids)


def _payload_xml(item) -> str | None:
    payload = item.xml.find("*")  # the item's one child element (an Atom entry for XEP-0277)
    return None if payload is None else ElementTree.tostring(payload, encoding="unicode")


class Listener:
    """Holds the hub's XMPP session until ``stop()``; reconnects by itself."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.client: HubClient | None = None
        self.subscribed: dict[tuple[str, str], int] = {}  # (jid, node) -> source id, confirmed this session
        self.pending: dict[tuple[str, str], int] = {}  # waiting for a presence subscription to be accepted
        self.asked: dict[tuple[str, str], int] = {}  # subscription requested, answer not in yet
        self.retry: dict[tuple[str, str], tuple[float, float]] = {}  # refused: (retry at, last delay)
        self.granted: set[str] = set()  # JIDs that accepted our presence subscription this session
        self.busy: set[int] = set()  # sources with a subscribe or history fetch in flight
        self.sessions = 0
        self.outbox = Outbox(self._send_pushed, redis_url=notices_url())
        self._stopping = asyncio.Event()
        self._session_up = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, serve the session, reconnect with backoff when it drops; returns after ``stop()``."""
        notices = asyncio.get_running_loop().create_task(self.outbox.listen())
        try:
            await self._sessions()
        finally:
            notices.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await notices

    async def _sessions(self) -> None:
        backoff = MIN_BACKOFF
        while not self._stopping.is_set():
            started = time.monotonic()
            reason = await self._one_session()
            if self._stopping.is_set():
                break
            if time.monotonic() - started > STABLE_SESSION:
                backoff = MIN_BACKOFF
            delay = backoff * random.uniform(0.8, 1.2)
            log.warning("XMPP session lost (%s); reconnecting in %.1f s", reason, delay)
            try:
                await _db(push.record_session_lost)(reason=reason)
            except Exception:  # the database may be what is down (a restart): keep reconnecting anyway
                log.exception("could not record the lost XMPP session on its sources")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            backoff = min(MAX_BACKOFF, backoff * 2)

    def stop(self) -> None:
        self._stopping.set()
        if self.client is not None:
            self.client.disconnect(wait=False, reason="listener stopping")

    async def wait_until_connected(self, timeout: float) -> None:
        await asyncio.wait_for(self._session_up.wait(), timeout)

    def _build_client(self) -> HubClient:
        client = hub_client(self.settings)
        for plugin in ("xep_0030", "xep_0004", "xep_0059", "xep_0060", "xep_0115", "xep_0163", "xep_0199"):
            client.register_plugin(plugin)
        client.auto_authorize = True  # a publisher asking for our presence gets it (mutual subscription)
        client.auto_subscribe = True
        client.register_handler(
            Callback("chorus pubsub items", StanzaPath("message/pubsub_event/items"), self._on_items)
        )
        client.add_event_handler("presence_subscribed", self._on_presence_subscribed)
        return client

    async def _one_session(self) -> str:
        """One connection, from connect to disconnect; returns why it ended."""
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[str] = loop.create_future()
        client = self.client = self._build_client()

        def end(reason) -> None:
            if not ended.done():
                ended.set_result(str(reason or "disconnected"))

        client.add_event_handler("session_start", lambda _event: loop.create_task(self._on_session_start()))
        client.add_event_handler("disconnected", lambda reason: end(reason or "disconnected by the server"))
        client.add_event_handler("connection_failed", lambda error: end(f"connection failed: {error}"))
        client.add_event_handler("failed_all_auth", lambda _e: end("authentication failed (check the password)"))
        client.add_event_handler("stream_error", lambda error: end(f"stream error: {error['condition']}"))
        self.subscribed.clear()
        self.pending.clear()
        self.asked.clear()
        self.granted.clear()
        self.busy.clear()
        host = self.settings.host or None
        client.connect(host=host, port=self.settings.port) if host else client.connect()
        sync = loop.create_task(self._sync_forever())
        try:
            return await ended
        finally:
            self._session_up.clear()
            sync.cancel()
            client.disconnect(wait=False)
            self.client = None

    async def _on_session_start(self) -> None:
        client = self.client
        # "+notify" (XEP-0163) in the entity caps of the bound JID, before the first presence: presence-based
        # nodes then push to us. Registered before binding, the feature would sit on the wrong JID.
        client.plugin["xep_0030"].add_feature(f"{MICROBLOG_NODE}+notify")
        await client.plugin["xep_0115"].update_caps(broadcast=False)
        client.send_presence()
        try:
            await client.get_roster(timeout=IQ_TIMEOUT)
        except (IqError, IqTimeout) as error:
            log.warning("XMPP roster request failed: %s", error)
        self.sessions += 1
        log.info("XMPP session %d started as %s", self.sessions, client.boundjid)
        self._session_up.set()

    # -- keeping subscriptions in line with the database ---------------------------------------------------------

    async def _sync_forever(self) -> None:
        last_heartbeat = 0.0
        while True:
            if self._session_up.is_set():
                try:
                    if time.monotonic() - last_heartbeat > push.HEARTBEAT_SECONDS:
                        await _db(push.listener_heartbeat)()
                        last_heartbeat = time.monotonic()
                    await self.sync()
                except Exception:  # a database hiccup must not end the session: try again next tick
                    log.exception("XMPP subscription sync failed")
            await asyncio.sleep(self.settings.sync_interval)

    async def sync(self) -> None:
        """Subscribe to newly followed nodes, drop unfollowed ones, fetch history where it is due."""
        targets = await _db(push.push_targets)()
        wanted = {(t.jid, t.node): t for t in targets}
        for key in [k for k in self.subscribed if k not in wanted]:
            source_id = self.subscribed.pop(key)
            asyncio.get_running_loop().create_task(self._unsubscribe(key, source_id))
        for key, target in wanted.items():
            if target.source_id in self.busy:
                continue
            backing_off = key in self.retry and self.retry[key][0] > time.monotonic()
            if key in self.pending and key[0] in self.granted:
                self._spawn(target.source_id, self._confirmed(key, target.source_id))
            elif key not in self.subscribed and key not in self.pending and not backing_off:
                self._spawn(target.source_id, self._subscribe(target))
            elif key in self.subscribed and target.needs_history and not backing_off:
                self._spawn(target.source_id, self._fetch_history(target.source_id, *key))

    def _spawn(self, source_id: int, work) -> None:
        self.busy.add(source_id)
        task = asyncio.get_running_loop().create_task(work)
        task.add_done_callback(lambda _t: self.busy.discard(source_id))

    async def _subscribe(self, target: push.PushTarget) -> None:
        key = (target.jid, target.node)
        self.asked[key] = target.source_id  # the service may send the last item before its answer
        try:
            await self.client.plugin["xep_0060"].subscribe(target.jid, target.node, timeout=IQ_TIMEOUT)
        except IqError as error:
            self.asked.pop(key, None)
            condition = error.iq["error"]["condition"]
            if condition in _PRESENCE_CONDITIONS and target.node == MICROBLOG_NODE:
                # The node's access model wants presence: ask for it; +notify then brings the items.
                self.pending[key] = target.source_id
                self.client.send_presence_subscription(pto=target.jid)
                await _db(push.record_push_state)(
                    source_id=target.source_id, state=Source.PushState.PENDING,
                    error=f"asked {target.jid} to share presence: the node needs it ({condition})",
                )  # fmt: skip
                return
            text = error.iq["error"]["text"] or condition
            delay = self._retry_later(key)
            await _db(push.record_push_state)(source_id=target.source_id, state=Source.PushState.ERROR,
                                              error=f"subscription refused: {text} (retried in {delay:.0f} s)")  # fmt: skip
            return
        except IqTimeout:
            self.asked.pop(key, None)
            delay = self._retry_later(key)
            await _db(push.record_push_state)(source_id=target.source_id, state=Source.PushState.ERROR,
                                              error=f"subscription request timed out (retried in {delay:.0f} s)")  # fmt: skip
            return
        self.retry.pop(key, None)
        await self._confirmed(key, target.source_id)

    @staticmethod
    async def _send_pushed(source_id: int, items: list[list[str]], notify: str) -> None:
        await _db(hand_off_items)(source_id, items, True, notify)

    def _retry_later(self, key: tuple[str, str]) -> float:
        """A refused or unanswered subscription is tried again later, backing off (a node may appear)."""
        previous = self.retry.get(key, (0.0, RETRY_FIRST / 2))[1]
        delay = min(RETRY_MAX, previous * 2)
        self.retry[key] = (time.monotonic() + delay, delay)
        return delay

    async def _confirmed(self, key: tuple[str, str], source_id: int) -> None:
        self.pending.pop(key, None)
        self.asked.pop(key, None)
        self.subscribed[key] = source_id
        await _db(push.record_push_state)(source_id=source_id, state=Source.PushState.SUBSCRIBED)
        await self._fetch_history(source_id, *key)

    async def _unsubscribe(self, key: tuple[str, str], source_id: int) -> None:
        try:
            await self.client.plugin["xep_0060"].unsubscribe(key[0], key[1], timeout=IQ_TIMEOUT)
        except (IqError, IqTimeout) as error:
            log.info("unsubscribing from %s %s: %s", key[0], key[1], error)
        await _db(push.record_push_state)(source_id=source_id, state=Source.PushState.NONE)

    def _on_presence_subscribed(self, presence) -> None:
        """A publisher accepted our presence subscription: the next sync confirms its pending nodes."""
        self.granted.add(presence["from"].bare)

    async def _fetch_history(self, source_id: int, jid: str, node: str) -> None:
        """Everything the node still holds (paged through RSM when the service pages): what we missed."""
        try:
            iq = await self.client.plugin["xep_0060"].get_items(jid, node, max_items=HISTORY_MAX_ITEMS,
                                                                 timeout=IQ_TIMEOUT)  # fmt: skip
        except IqError as error:
            if error.iq["error"]["condition"] != "item-not-found":  # no node yet means no history yet
                log.warning("fetching the items of %s %s failed: %s", jid, node, error.iq["error"]["condition"])
                self._retry_later((jid, node))  # history_synced_at stays unset: tried again later
                return
            items = []
        except IqTimeout:
            log.warning("fetching the items of %s %s timed out", jid, node)
            self._retry_later((jid, node))
            return
        else:
            items = self._accepted_items(iq["pubsub"]["items"], jid=jid)
        if items:
            await _db(hand_off_items)(source_id, items, False)
        self.retry.pop((jid, node), None)
        await _db(push.record_history_synced)(source_id=source_id)

    # -- events ----------------------------------------------------------------------------------------------------

    def _on_items(self, message) -> None:
        """A PubSub event: publish and retract notifications, one message possibly carrying several items."""
        sender = message["from"]
        items = message["pubsub_event"]["items"]
        key = (sender.bare, items["node"])
        source_id = self.subscribed.get(key) or self.asked.get(key)
        if source_id is None or sender.resource:
            log.warning("ignored a PubSub event from %s for node %r: not a node Chorus subscribed to", sender,
                        items["node"])  # fmt: skip
            return
        published = self._accepted_items(items, jid=key[0])
        retracted = [child["id"] for child in items if child.name == "retract" and child["id"]]
        if published:
            self.outbox.add(source_id, published)
        if retracted:
            self.outbox.flush(source_id)
            asyncio.get_running_loop().create_task(_db(_hand_off_retractions)(source_id, retracted))

    @staticmethod
    def _accepted_items(items, *, jid: str) -> list[list[str]]:
        """``[item id, payload, publisher]`` for each storable item; oversized ones are dropped."""
        accepted = []
        for item in items:
            if item.name != "item" or not item["id"]:
                continue
            payload = _payload_xml(item)
            if payload is None:
                continue
            if len(payload.encode("utf-8", "surrogatepass")) > MAX_PAYLOAD_BYTES:
                log.warning("dropped item %r of %s: payload over %d bytes", item["id"], jid, MAX_PAYLOAD_BYTES)
                continue
            # The author is whoever owns the node (PEP: the person's JID), whatever the payload claims; on a
            # PubSub service, the publisher the service stamps on the item, else the service itself.
            publisher = jid if "@" in jid else (slixmpp.JID(item.xml.get("publisher") or jid).bare or jid)
            accepted.append([item["id"], payload, publisher])
        return accepted


class ListenerThread(threading.Thread):
    """A listener on its own event loop in a daemon thread: what ``serve`` (and the tests) run."""

    def __init__(self, settings: Settings):
        super().__init__(name="chorus-xmpp", daemon=True)
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.listener: Listener | None = None
        self._created = threading.Event()

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.listener = Listener(self.settings)
        self._created.set()
        self.loop.run_until_complete(self.listener.run())
        # Left open (other threads may still hand it calls), its tasks finished for slixmpp's collected clients
        finish_tasks(self.loop)

    def wait_until_connected(self, timeout: float = 20.0) -> None:
        """Block until the session is up (for tests and start-up checks)."""
        if not self._created.wait(timeout):
            raise TimeoutError("the XMPP listener thread did not start")
        future = asyncio.run_coroutine_threadsafe(self.listener.wait_until_connected(timeout), self.loop)
        future.result(timeout + 1)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the session and wait (at most ``timeout`` each) for the thread and for the database calls it
        had started: stores of pushed items still running in executor threads (the suite empties the database
        right after; ``serve`` closes it)."""
        if self._created.is_set() and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.listener.stop)
        self.join(timeout)
        if not _database_work.wait_idle(timeout):
            log.warning("XMPP listener stopped with database calls still running")


def run_listener(settings: Settings) -> None:
    """Run a listener in this thread until SIGINT or SIGTERM (``manage.py xmpp_listen``)."""

    async def main() -> None:
        listener = Listener(settings)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, listener.stop)
        await listener.run()

    asyncio.run(main())
