"""Publishing to the hub account's own PubSub (PEP) nodes (XEP-0060, XEP-0277 payloads): one short session per
call, as the chat messages are sent (``chat.run_session``); open access, so anyone may subscribe. Each call
also reads, as the node's owner, who is subscribed to the node (its followers elsewhere)."""

from xml.etree import ElementTree as ET

from slixmpp import JID

from aggregator.networks.xmpp.chat import run_session
from aggregator.networks.xmpp.client import HubClient, Settings

PLUGINS = ("xep_0030", "xep_0004", "xep_0060")
TIMEOUT = 10
_OWNER = "{http://jabber.org/protocol/pubsub#owner}"


async def _subscribers(client: HubClient, node: str) -> frozenset[str]:
    """The bare JIDs subscribed to the hub account's ``node`` (each once, however many resources)."""
    answer = await client.plugin["xep_0060"].get_node_subscriptions(client.boundjid.bare, node, timeout=TIMEOUT)
    own = client.boundjid.bare
    found = {JID(row.get("jid", "")).bare for row in answer.xml.iter(f"{_OWNER}subscription")
             if row.get("subscription") == "subscribed"}  # fmt: skip
    return frozenset(found - {own, ""})


def _on_own_node(work, *, node: str, settings: Settings | None) -> frozenset[str]:
    """``await work(client)`` in a short session of the hub account, then read ``node``'s subscribers."""
    subscribers: list[frozenset[str]] = []

    async def session(client: HubClient) -> None:
        await work(client)
        subscribers.append(await _subscribers(client, node))

    run_session(session, settings=settings, resource="chorus-publish", plugins=PLUGINS)
    return subscribers[0]


def publish_item(*, node: str, item_id: str, payload: ET.Element, settings: Settings | None = None) -> frozenset[str]:
    """Publish (or replace) ``item_id`` on the hub account's ``node``; returns the node's subscribers.
    Raises ``XmppSendError``."""

    async def publish(client: HubClient) -> None:
        form = client.plugin["xep_0004"].make_form(ftype="submit")
        form.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options")
        form.add_field(var="pubsub#access_model", value="open")
        form.add_field(var="pubsub#max_items", value="256")
        await client.plugin["xep_0060"].publish(client.boundjid.bare, node, id=item_id, payload=payload,
                                                options=form, timeout=TIMEOUT)  # fmt: skip

    return _on_own_node(publish, node=node, settings=settings)


def retract_item(*, node: str, item_id: str, settings: Settings | None = None) -> frozenset[str]:
    """Retract ``item_id`` from the hub account's ``node``, notifying subscribers; returns the node's
    subscribers. Raises ``XmppSendError``."""

    async def retract(client: HubClient) -> None:
        await client.plugin["xep_0060"].retract(client.boundjid.bare, node, item_id, notify=True, timeout=TIMEOUT)

    return _on_own_node(retract, node=node, settings=settings)
