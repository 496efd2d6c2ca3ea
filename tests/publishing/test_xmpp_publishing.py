"""A person's posts published on XMPP (XEP-0277 items on the hub account's node for the person) with the suite's
Prosody: a subscriber gets each new post pushed, a deletion retracts the item, the feed names the node."""

from urllib.parse import unquote

import feedparser
import pytest

from aggregator.networks.rss import parse
from publishing.addresses import post_url, xmpp_node
from publishing.posting import post_create, post_delete

from tests.servers.processes import wait_for
from tests.servers.xmpp_clients import XmppPerson
from tests.servers.xmpp_server import DOMAIN, PASSWORD

pytestmark = pytest.mark.django_db
HUB = f"hub@{DOMAIN}"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def xmpp_hub(prosody, settings):
    settings.CHORUS_PUBLIC_URL = "https://chorus.example"
    settings.CHORUS_XMPP_JID, settings.CHORUS_XMPP_PASSWORD = HUB, PASSWORD
    settings.CHORUS_XMPP_HOST, settings.CHORUS_XMPP_PORT, settings.CHORUS_XMPP_TLS = "127.0.0.1", prosody.port, False
    return prosody


def item_ids(person: XmppPerson, node: str) -> list[str]:
    answer = person.call(lambda: person.client.plugin["xep_0060"].get_items(HUB, node, timeout=10))
    return [item["id"] for item in answer["pubsub"]["items"]]


def test_posts_are_pushed_to_xmpp_subscribers_and_deletions_retract_them(xmpp_hub, alice, client, committed):
    node = xmpp_node("alice")
    with committed():
        first = post_create(user=alice, text="First on XMPP")
    with XmppPerson(jid=f"bob@{DOMAIN}", password=PASSWORD, port=xmpp_hub.port) as bob:
        first_id, = item_ids(bob, node)
        assert first_id == post_url("alice", first.guid)  # the Atom entry's id, as in the feed
        entry = bob.call(lambda: bob.client.plugin["xep_0060"].get_item(HUB, node, first_id, timeout=10))
        payload = entry["pubsub"]["items"]["item"].xml[0]
        assert payload.tag == f"{ATOM}entry" and "First on XMPP" in payload.find(f"{ATOM}content").text
        assert payload.findtext(f"{ATOM}author/{ATOM}uri") == f"xmpp:{HUB}"  # the publisher: readers keep the name
        bob.subscribe(HUB, node)
        with committed():
            second = post_create(user=alice, text="Second, pushed")
        wait_for(lambda: post_url("alice", second.guid) in bob.received_at, what="the pushed item")
        with committed():
            post_delete(user=alice, post_id=first.pk)
        assert item_ids(bob, node) == [post_url("alice", second.guid)]

    feed = client.get("/people/alice/feed.atom").content
    assert parse(feed, base_url="https://chorus.example/").info.xmpp_uri == f"xmpp:{HUB}?;node={node}"
    links = [link["href"] for link in feedparser.parse(feed).feed.links]
    assert any(unquote(href) == f"xmpp:{HUB}?;node={node}" for href in links)
