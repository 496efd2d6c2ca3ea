"""Pure parts of the XMPP path: what the follow box accepts, and XEP-0277 items -> Entry (authors claiming
to be someone else, DTDs and oversized payloads)."""

from datetime import UTC, datetime, timedelta

import pytest

from aggregator.content.xmlsafety import UnsafeXML
from aggregator.following.subscriptions import SubscriptionError, subscribe
from aggregator.ingest import push
from aggregator.models import Source
from aggregator.networks.xmpp import (
    MICROBLOG_NODE,
    BadItem,
    NotAnXmppAddress,
    XmppNode,
    looks_like_xmpp,
    parse_item,
    parse_items,
    parse_xmpp_address,
)

ENTRY = """<entry xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
<title type="text">Hello &lt;b&gt;there&lt;/b&gt;</title>
<id>tag:example.org,2026:posts-1</id>
<published>2026-11-01T10:00:00Z</published>
<author><name>{name}</name><uri>{uri}</uri></author>
<content type="html">&lt;p&gt;see &lt;a href="javascript:alert(1)"&gt;this&lt;/a&gt;&lt;/p&gt;</content>
<link rel="alternate" type="text/html" href="https://blog.example.org/posts/1"/>
<thr:in-reply-to ref="tag:example.org,2026:posts-0" href="xmpp:bob@example.org?;node=urn%3Axmpp%3Amicroblog%3A0;item=p0"/>
</entry>"""


@pytest.mark.parametrize(
    ("typed", "jid", "node"),
    [
        ("alice@example.org", "alice@example.org", MICROBLOG_NODE),
        ("  Alice@Example.ORG ", "alice@example.org", MICROBLOG_NODE),
        ("xmpp:alice@example.org", "alice@example.org", MICROBLOG_NODE),
        ("xmpp:alice@example.org?;node=urn%3Axmpp%3Amicroblog%3A0", "alice@example.org", MICROBLOG_NODE),
        ("xmpp:pubsub.example.org?;node=blog", "pubsub.example.org", "blog"),
        ("xmpp:pubsub.example.org?;node=news%2Fworld", "pubsub.example.org", "news/world"),
        ("xmpp://alice@example.org/resource", "alice@example.org", MICROBLOG_NODE),
    ],
)
def test_addresses_people_type_name_one_node(typed, jid, node):
    assert looks_like_xmpp(typed)
    assert parse_xmpp_address(typed) == XmppNode(jid=jid, node=node)


def test_the_canonical_uri_is_the_same_whatever_was_typed():
    uris = {parse_xmpp_address(t).uri for t in ("alice@example.org", "xmpp:ALICE@example.org",
                                                 "xmpp:alice@example.org?;node=urn:xmpp:microblog:0")}  # fmt: skip
    assert uris == {"xmpp:alice@example.org?;node=urn%3Axmpp%3Amicroblog%3A0"}


@pytest.mark.parametrize("typed", ["https://example.org/feed", "example.org", "@alice@mastodon.social",
                                   "http://user@example.org/feed"])  # fmt: skip
def test_urls_and_fediverse_handles_are_not_xmpp(typed):
    assert not looks_like_xmpp(typed)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("alice@localhost", "not a Jabber ID"),
        ("al ice@example.org", "not a Jabber ID"),
        ("xmpp:pubsub.example.org", "no node"),
        ("xmpp:not a jid", "not a Jabber ID"),
    ],
)
def test_malformed_xmpp_addresses_say_what_was_expected(typed, expected):
    with pytest.raises(NotAnXmppAddress, match=expected):
        parse_xmpp_address(typed)


def test_an_item_becomes_an_entry_keyed_by_its_item_id():
    entry = parse_item(item_id="p1", payload=ENTRY.format(name="Alice", uri="xmpp:alice@example.org"),
                       publisher="alice@example.org")  # fmt: skip
    assert entry.guid == "p1"  # a retraction names the item id
    assert entry.title == "Hello there"  # markup in titles is text
    assert entry.url == "https://blog.example.org/posts/1"
    assert entry.published == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    assert entry.in_reply_to.startswith("xmpp:bob@example.org")
    assert (entry.author_name, entry.author_handle, entry.author_uri) == (
        "Alice", "alice@example.org", "xmpp:alice@example.org")  # fmt: skip


def test_the_author_is_the_publishing_jid_whatever_the_payload_claims():
    entry = parse_item(item_id="p1", payload=ENTRY.format(name="Bob", uri="xmpp:bob@example.org"),
                       publisher="mallory@example.org")  # fmt: skip
    assert (entry.author_name, entry.author_handle, entry.author_uri) == (
        "mallory@example.org", "mallory@example.org", "xmpp:mallory@example.org")  # fmt: skip


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ('<!DOCTYPE e [<!ENTITY a "aaaa">]><entry xmlns="http://www.w3.org/2005/Atom">&a;</entry>', UnsafeXML),
        ("<entry xmlns='http://www.w3.org/2005/Atom'><title>x" + "y" * 300_000 + "</title></entry>", BadItem),
        ("<geoloc xmlns='http://jabber.org/protocol/geoloc'><lat>1</lat></geoloc>", BadItem),
        ("<entry xmlns='http://www.w3.org/2005/Atom'><title>unclosed</entry>", BadItem),
    ],
    ids=["entity-declaration", "oversized", "not-an-atom-entry", "malformed"],
)
def test_hostile_or_foreign_payloads_are_refused(payload, error):
    with pytest.raises(error):
        parse_item(item_id="x", payload=payload, publisher="alice@example.org")


def test_a_batch_is_parsed_together_and_bad_items_are_refused_alone():
    good = [(f"p{n}", ENTRY.format(name="Alice", uri="xmpp:alice@example.org").replace("posts-1", f"posts-{n}"),
             "alice@example.org") for n in range(3)]  # fmt: skip
    bad = ("x", "<entry xmlns='http://www.w3.org/2005/Atom'><title>unclosed</entry>", "alice@example.org")
    entries, refused = parse_items([good[0], bad, good[1], good[2]])
    assert [e.guid for e in entries] == ["p0", "p1", "p2"]
    assert all(e.author_handle == "alice@example.org" and e.title == "Hello there" for e in entries)
    assert [item_id for item_id, _error in refused] == ["x"] and isinstance(refused[0][1], BadItem)


@pytest.mark.django_db
def test_following_a_jid_creates_one_xmpp_source_waiting_for_the_listener(alice, bob):
    first = subscribe(user=alice, address="alice@example.org").source
    second = subscribe(user=bob, address="xmpp:alice@example.org?;node=urn%3Axmpp%3Amicroblog%3A0").source
    assert first.pk == second.pk
    assert (first.kind, first.push_jid, first.push_node, first.push_state) == (
        "xmpp", "alice@example.org", MICROBLOG_NODE, "pending")  # fmt: skip
    assert [t.source_id for t in push.push_targets()] == [first.pk]
    with pytest.raises(SubscriptionError, match="no node"):
        subscribe(user=alice, address="xmpp:pubsub.example.org")


@pytest.mark.django_db
def test_push_covers_a_feed_only_while_the_listener_lives_and_pushes_come(alice, settings):
    from django.core.cache import cache

    now = datetime.now(UTC)
    source = Source(address="https://example.org/feed", url="https://example.org/feed", push_jid="a@example.org",
                    push_node=MICROBLOG_NODE, push_state=Source.PushState.SUBSCRIBED, push_state_at=now,
                    last_push_at=now - timedelta(hours=1), posts_per_day=4)  # fmt: skip
    cache.delete(push.LISTENER_KEY)
    assert not push.push_covers(source, now=now)  # no listener heartbeat
    push.listener_heartbeat()
    assert push.push_covers(source, now=now)
    assert not push.push_covers(source, now=now + timedelta(days=2))  # quiet for 3 posting intervals
    source.push_state = Source.PushState.ERROR
    assert not push.push_covers(source, now=now)
    assert push.silence_limit(0) == push.MAX_SILENCE and push.silence_limit(1000) == push.MIN_SILENCE


@pytest.mark.django_db
def test_the_source_page_shows_the_xmpp_state(client, alice):
    source = subscribe(user=alice, address="alice@example.org").source
    push.record_push_state(source_id=source.pk, state=Source.PushState.ERROR, error="subscription refused: gone")
    client.force_login(alice)
    page = client.get(f"/sources/{source.pk}/").content.decode()
    assert "XMPP push" in page and "push failing" in page and "subscription refused: gone" in page
    assert "microblog of alice@example.org" in page
