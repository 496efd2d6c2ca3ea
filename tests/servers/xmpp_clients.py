"""Plain XMPP clients for tests and benchmarks: a person publishing a XEP-0277 microblog, or a forger.

Each ``XmppPerson`` runs its own slixmpp client on its own event loop in a daemon thread; the methods block
until the server answered. Plaintext on loopback, as the suite's Prosody allows (tests/servers/xmpp_server.py).
"""

import asyncio
import contextlib
import threading
import time
from datetime import UTC, datetime
from xml.etree import ElementTree

import slixmpp

from aggregator.networks.xmpp.client import close_loop

ATOM = "http://www.w3.org/2005/Atom"
MICROBLOG = "urn:xmpp:microblog:0"
PUBSUB_EVENT = "http://jabber.org/protocol/pubsub#event"


def atom_entry(*, title: str, body: str, entry_id: str, author_uri: str = "", author_name: str = "",
               published: datetime | None = None, in_reply_to: str = "") -> ElementTree.Element:  # fmt: skip
    """A XEP-0277 post: an Atom entry."""
    entry = ElementTree.Element(f"{{{ATOM}}}entry")
    ElementTree.SubElement(entry, f"{{{ATOM}}}title", type="text").text = title
    ElementTree.SubElement(entry, f"{{{ATOM}}}id").text = entry_id
    when = (published or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    ElementTree.SubElement(entry, f"{{{ATOM}}}published").text = when
    ElementTree.SubElement(entry, f"{{{ATOM}}}updated").text = when
    ElementTree.SubElement(entry, f"{{{ATOM}}}content", type="html").text = body
    if author_uri or author_name:
        author = ElementTree.SubElement(entry, f"{{{ATOM}}}author")
        ElementTree.SubElement(author, f"{{{ATOM}}}name").text = author_name
        ElementTree.SubElement(author, f"{{{ATOM}}}uri").text = author_uri
    if in_reply_to:
        ElementTree.SubElement(entry, "{http://purl.org/syndication/thread/1.0}in-reply-to", ref=in_reply_to)
    return entry


class XmppPerson:
    """A connected XMPP account that can publish to its own microblog (PEP) or a PubSub service node."""

    def __init__(self, *, jid: str, password: str, port: int, host: str = "127.0.0.1"):
        self.jid, self.password, self.host, self.port = jid, password, host, port
        self.loop = asyncio.new_event_loop()
        self.client: slixmpp.ClientXMPP | None = None
        self.received_at: dict[str, float] = {}  # item id -> when its notification arrived (bare baseline)
        self.chats: list[tuple[str, str]] = []  # (sender's full JID, body) of chat messages received
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"xmpp-{jid}", daemon=True)

    def __enter__(self) -> "XmppPerson":
        self._thread.start()
        if not self._ready.wait(20):
            raise TimeoutError(f"{self.jid} could not connect")
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.client = client = slixmpp.ClientXMPP(self.jid, self.password,
                                                  plugin_config={"feature_mechanisms": {"unencrypted_plain": True}})  # fmt: skip
        client.enable_direct_tls = client.enable_starttls = False
        client.enable_plaintext = True
        for plugin in ("xep_0030", "xep_0004", "xep_0060", "xep_0163"):
            client.register_plugin(plugin)
        client.auto_authorize = True
        client.auto_subscribe = True

        async def start(_event) -> None:
            client.send_presence()
            await client.get_roster()
            self._ready.set()

        client.add_event_handler("session_start", start)
        client.add_event_handler("pubsub_publish", self._note_items)
        client.add_event_handler("message", self._note_chat)
        client.connect(host=self.host, port=self.port)
        self.loop.run_forever()

    def _note_items(self, message) -> None:
        now = time.time()
        # Read the XML, not the stanza: slixmpp's stanza iterator is shared, and xep_0060 is iterating it now.
        for item in message.xml.iter(f"{{{PUBSUB_EVENT}}}item"):
            self.received_at.setdefault(item.get("id"), now)

    def _note_chat(self, message) -> None:
        if message["type"] in ("chat", "normal") and message["body"]:
            self.chats.append((str(message["from"]), message["body"]))

    def call(self, coroutine_function, *args, timeout: float = 15):
        """Run ``await coroutine_function(*args)`` on the client's loop and return its result."""

        async def run():
            return await coroutine_function(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def _publish_options(self, *, access_model: str = "open", max_items: int = 256):
        form = self.client.plugin["xep_0004"].make_form(ftype="submit")
        form.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options")
        form.add_field(var="pubsub#access_model", value=access_model)
        form.add_field(var="pubsub#max_items", value=str(max_items))
        return form

    def publish(self, item_id: str, payload: ElementTree.Element, *, service: str | None = None,
                node: str = MICROBLOG, access_model: str = "open") -> None:  # fmt: skip
        """Publish to the own microblog (PEP, ``service=None``) or to ``node`` on a PubSub service."""
        pubsub = self.client.plugin["xep_0060"]
        options = self._publish_options(access_model=access_model) if service is None else None
        self.call(lambda: pubsub.publish(service or self.jid, node, id=item_id, payload=payload, options=options,
                                         timeout=10))  # fmt: skip

    def retract(self, item_id: str, *, service: str | None = None, node: str = MICROBLOG) -> None:
        pubsub = self.client.plugin["xep_0060"]
        self.call(lambda: pubsub.retract(service or self.jid, node, item_id, notify=True, timeout=10))

    def create_node(self, service: str, node: str) -> None:
        pubsub = self.client.plugin["xep_0060"]
        form = self.client.plugin["xep_0004"].make_form(ftype="submit")
        form.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#node_config")
        form.add_field(var="pubsub#max_items", value="256")
        form.add_field(var="pubsub#access_model", value="open")
        self.call(lambda: pubsub.create_node(service, node, config=form, timeout=10))

    def subscribe(self, service: str, node: str = MICROBLOG) -> None:
        pubsub = self.client.plugin["xep_0060"]
        self.call(lambda: pubsub.subscribe(service, node, timeout=10))

    def send_forged_event(self, to: str, *, node: str, item_id: str, payload: ElementTree.Element) -> None:
        """A message shaped like a PubSub notification, sent straight from this account to ``to``."""
        message = self.client.make_message(mto=to)
        event = ElementTree.SubElement(message.xml, f"{{{PUBSUB_EVENT}}}event")
        items = ElementTree.SubElement(event, f"{{{PUBSUB_EVENT}}}items", node=node)
        ElementTree.SubElement(items, f"{{{PUBSUB_EVENT}}}item", id=item_id).append(payload)
        self.loop.call_soon_threadsafe(message.send)

    def close(self) -> None:
        if self.client is not None and self.loop.is_running():
            done = asyncio.run_coroutine_threadsafe(self._disconnect(), self.loop)
            with contextlib.suppress(Exception):  # closing a test client: best effort
                done.result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive() and not self.loop.is_closed():
            close_loop(self.loop)  # else the client, collected in a later test, fails there on the closed loop

    async def _disconnect(self) -> None:
        self.client.disconnect(wait=False)
        await asyncio.sleep(0.05)
