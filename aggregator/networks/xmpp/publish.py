"""Publishing to the hub account's own PubSub (PEP) nodes (XEP-0060, XEP-0277 payloads): one short session per
call, as the chat messages are sent (``chat.run_session``); open access, so anyone may subscribe."""

from xml.etree import ElementTree as ET

from aggregator.networks.xmpp.chat import run_session
from aggregator.networks.xmpp.client import HubClient, Settings

PLUGINS = ("xep_0030", "xep_0004", "xep_0060")
TIMEOUT = 10


def publish_item(*, node: str, item_id: str, payload: ET.Element, settings: Settings | None = None) -> None:
    """Publish (or replace) ``item_id`` on the hub account's ``node``. Raises ``XmppSendError``."""

    async def publish(client: HubClient) -> None:
        form = client.plugin["xep_0004"].make_form(ftype="submit")
        form.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options")
        form.add_field(var="pubsub#access_model", value="open")
        form.add_field(var="pubsub#max_items", value="256")
        await client.plugin["xep_0060"].publish(client.boundjid.bare, node, id=item_id, payload=payload,
                                                options=form, timeout=TIMEOUT)  # fmt: skip

    run_session(publish, settings=settings, resource="chorus-publish", plugins=PLUGINS)


def retract_item(*, node: str, item_id: str, settings: Settings | None = None) -> None:
    """Retract ``item_id`` from the hub account's ``node``, notifying subscribers. Raises ``XmppSendError``."""

    async def retract(client: HubClient) -> None:
        await client.plugin["xep_0060"].retract(client.boundjid.bare, node, item_id, notify=True, timeout=TIMEOUT)

    run_session(retract, settings=settings, resource="chorus-publish", plugins=PLUGINS)
