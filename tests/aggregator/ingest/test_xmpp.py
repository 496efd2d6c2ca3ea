"""XMPP push end to end against a real Prosody the suite starts: publish -> stored -> on the timeline.

The hub's listener runs in a thread of the test process (tasks run inline, as in the embedded hub) and talks
to Prosody over loopback; alice, bob and mallory are plain XMPP clients (tests/servers/xmpp_clients.py).
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.following.subscriptions import subscribe, unsubscribe
from aggregator.models import Post, Source
from aggregator.networks.xmpp.client import Settings
from aggregator.runtime.xmpp_listener import ListenerThread
from timelines.models import TimelineEntry

from tests.servers.processes import embedded_env, free_port, manage, start_serve, stop, wait_for
from tests.servers.xmpp_clients import MICROBLOG, XmppPerson, atom_entry
from tests.servers.xmpp_server import DOMAIN, PASSWORD, PUBSUB_DOMAIN

pytestmark = pytest.mark.django_db(transaction=True)


def _hub_settings(prosody) -> Settings:
    return Settings(jid=f"hub@{DOMAIN}", password=PASSWORD, host="127.0.0.1", port=prosody.port, tls=False,
                    sync_interval=0.2)  # fmt: skip


@pytest.fixture
def hub(prosody):
    listener = ListenerThread(_hub_settings(prosody))
    listener.start()
    listener.wait_until_connected()
    yield listener
    listener.stop()


def _person(prosody, user: str) -> XmppPerson:
    return XmppPerson(jid=f"{user}@{DOMAIN}", password=PASSWORD, port=prosody.port)


def _subscribed(source: Source) -> bool:
    source.refresh_from_db()
    return source.push_state == Source.PushState.SUBSCRIBED and source.history_synced_at is not None


def _item_id() -> str:
    return uuid.uuid4().hex


def _push_sentinel(person: XmppPerson, source: Source) -> None:
    """Publish one more item and wait until it is stored: the items and retractions the node pushed before it
    reached the hub first (one stream, one outbox per source), so they have been handled."""
    sentinel = _item_id()
    person.publish(sentinel, atom_entry(title="sentinel", body="the last push", entry_id=f"sentinel-{sentinel}"))
    wait_for(lambda: Post.objects.filter(source=source, guid=sentinel).exists(), what="the sentinel item")


def _has_posted(person: XmppPerson) -> None:
    """``person`` has posted before: their microblog node exists. A test must not count on an earlier test of
    the run having made it on the run's Prosody (tests run in any order and on two processes): once the hub
    shares a person's presence, its subscription to a node that does not exist yet is refused (item-not-found)
    and asked again only after ``RETRY_FIRST``, 30 s (NOTES.md)."""
    person.publish(_item_id(), atom_entry(title="an earlier post", body="earlier", entry_id=f"earlier-{_item_id()}",
                                          published=datetime.now(UTC) - timedelta(days=1)))  # fmt: skip


def _follow_microblog(user, jid: str) -> Source:
    source = subscribe(user=user, address=jid).source
    wait_for(lambda: _subscribed(source), what=f"the hub to subscribe to {jid}")
    return source


def test_publish_update_retract_reach_the_followers_timeline(hub, prosody, bob):
    with _person(prosody, "alice") as alice:
        alice.publish("first", atom_entry(title="hello", body="<p>first post</p>", entry_id="tag:alice,1"))
        source = _follow_microblog(bob, f"xmpp:alice@{DOMAIN}")
        assert source.kind == Source.Kind.XMPP and source.address == f"xmpp:alice@{DOMAIN}?;node=urn%3Axmpp%3Amicroblog%3A0"
        first = wait_for(lambda: Post.objects.filter(source=source, guid="first").first(), what="history item")
        assert first.content_html == "<p>first post</p>"

        item = _item_id()
        alice.publish(item, atom_entry(title="live", body="<p>pushed <script>x()</script>now</p>", entry_id="t2"))
        post = wait_for(lambda: Post.objects.filter(source=source, guid=item).first(), what="the pushed post")
        assert post.content_html == "<p>pushed now</p>"  # the same sanitizer as RSS
        assert (post.author_handle, post.author_uri) == (f"alice@{DOMAIN}", f"xmpp:alice@{DOMAIN}")
        assert TimelineEntry.objects.filter(user=bob, post=post).exists()
        source.refresh_from_db()
        assert source.last_push_at is not None and source.status == Source.Status.OK

        alice.publish(item, atom_entry(title="live (edited)", body="<p>edited</p>", entry_id="t2"))
        wait_for(lambda: Post.objects.get(pk=post.pk).title == "live (edited)", what="the update")
        assert Post.objects.filter(source=source, guid=item).count() == 1

        alice.retract(item)
        wait_for(lambda: Post.objects.get(pk=post.pk).retracted_at is not None, what="the retraction")
        assert not TimelineEntry.objects.filter(post=post).exists()
        assert Post.objects.get(pk=post.pk).content_html == ""


def test_retracted_post_does_not_come_back_from_a_later_history_fetch(hub, prosody, bob):
    with _person(prosody, "carol") as carol:
        keep, gone = _item_id(), _item_id()
        carol.publish(keep, atom_entry(title="keep", body="stays", entry_id="k"))
        source = _follow_microblog(bob, f"carol@{DOMAIN}")
        carol.publish(gone, atom_entry(title="gone", body="goes", entry_id="g"))
        wait_for(lambda: Post.objects.filter(source=source, guid__in=[keep, gone]).count() == 2, what="both posts")
        carol.retract(gone)
        wait_for(lambda: Post.objects.filter(source=source, guid=gone, retracted_at__isnull=False).exists(),
                 what="the retraction")  # fmt: skip
        # The server still has "keep"; a history fetch (the safety net) must not resurrect "gone" either way.
        carol.publish(gone, atom_entry(title="gone", body="goes", entry_id="g"))  # a stale republish
        Source.objects.filter(pk=source.pk).update(history_synced_at=None)
        wait_for(lambda: Source.objects.get(pk=source.pk).history_synced_at is not None, what="the history fetch")
        _push_sentinel(carol, source)  # the stale republish's push was handled before it
        assert Post.objects.get(source=source, guid=gone).retracted_at is not None
        assert not TimelineEntry.objects.filter(user=bob, post__guid=gone).exists()
        assert TimelineEntry.objects.filter(user=bob, post__guid=keep).exists()


def test_listener_down_while_items_are_published_loses_nothing(prosody, bob):
    listener = ListenerThread(_hub_settings(prosody))
    listener.start()
    listener.wait_until_connected()
    with _person(prosody, "alice") as alice:
        _has_posted(alice)
        source = _follow_microblog(bob, f"alice@{DOMAIN}")
        listener.stop()
        synced = Source.objects.get(pk=source.pk).history_synced_at
        missed = [_item_id() for _ in range(3)]
        for n, item in enumerate(missed):
            alice.publish(item, atom_entry(title=f"while down {n}", body=f"<p>{n}</p>", entry_id=f"down-{item}"))
        assert not Post.objects.filter(source=source, guid__in=missed).exists()
        restarted = ListenerThread(_hub_settings(prosody))
        restarted.start()
        try:
            restarted.wait_until_connected()
            wait_for(lambda: Post.objects.filter(source=source, guid__in=missed).count() == 3, what="the 3 items")
            # more pushes or fetches of the same items must not add rows: the restarted listener's history fetch
            # has stored what it fetched, and pushes before the sentinel's were handled before it
            wait_for(lambda: Source.objects.get(pk=source.pk).history_synced_at > synced, what="the history fetch")
            _push_sentinel(alice, source)
            assert Post.objects.filter(source=source, guid__in=missed).count() == 3
            assert TimelineEntry.objects.filter(user=bob, post__guid__in=missed).count() == 3
        finally:
            restarted.stop()


def test_forged_and_unsubscribed_events_are_ignored(hub, prosody, bob, caplog):
    with _person(prosody, "alice") as alice, _person(prosody, "mallory") as mallory:
        _has_posted(alice)
        source = _follow_microblog(bob, f"alice@{DOMAIN}")
        forged = _item_id()
        # Mallory sends the hub a message shaped like alice's notification (from a JID not subscribed to) ...
        mallory.send_forged_event(f"hub@{DOMAIN}", node=MICROBLOG, item_id=forged,
                                  payload=atom_entry(title="buy now", body="spam", entry_id="x",
                                                     author_uri=f"xmpp:alice@{DOMAIN}", author_name="Alice"))  # fmt: skip
        # ... and publishes on her own microblog, which nobody follows (events reach the hub only if
        # subscribed; a subscription by the hub does not exist, so nothing may be stored for her either).
        mallory.publish(_item_id(), atom_entry(title="mine", body="x", entry_id="m"))
        real = _item_id()
        alice.publish(real, atom_entry(title="real", body="from alice", entry_id="r"))
        wait_for(lambda: Post.objects.filter(source=source, guid=real).exists(), what="alice's real post")
        # mallory's sentinel follows her forgery on the same path: once the hub refused it, it handled the forgery
        mallory.send_forged_event(f"hub@{DOMAIN}", node="sentinel", item_id=_item_id(),
                                  payload=atom_entry(title="sentinel", body="x", entry_id="s"))  # fmt: skip
        wait_for(lambda: "for node 'sentinel'" in caplog.text, what="the hub to refuse mallory's sentinel")
        assert not Post.objects.filter(guid=forged).exists()
        assert not Source.objects.filter(push_jid=f"mallory@{DOMAIN}").exists()
        assert "ignored a PubSub event from mallory@" in caplog.text


def test_author_is_the_publishing_jid_whatever_the_entry_claims(hub, prosody, bob):
    with _person(prosody, "mallory") as mallory:
        _has_posted(mallory)
        source = _follow_microblog(bob, f"mallory@{DOMAIN}")
        item = _item_id()
        mallory.publish(item, atom_entry(title="hi", body="I am alice", entry_id="i", author_name="Alice",
                                         author_uri=f"xmpp:alice@{DOMAIN}"))  # fmt: skip
        post = wait_for(lambda: Post.objects.filter(source=source, guid=item).first(), what="the post")
        assert (post.author_name, post.author_handle) == (f"mallory@{DOMAIN}", f"mallory@{DOMAIN}")


def test_oversized_items_are_dropped_and_the_rest_stored(hub, prosody, bob):
    with _person(prosody, "alice") as alice:
        _has_posted(alice)
        source = _follow_microblog(bob, f"alice@{DOMAIN}")
        big, small = _item_id(), _item_id()
        alice.publish(big, atom_entry(title="huge", body="x" * 200_000, entry_id="big"))
        alice.publish(small, atom_entry(title="small", body="fine", entry_id="small"))
        wait_for(lambda: Post.objects.filter(source=source, guid=small).exists(), what="the small post")
        assert not Post.objects.filter(source=source, guid=big).exists()


def test_pubsub_service_node_and_unfollow(hub, prosody, bob):
    with _person(prosody, "alice") as alice:
        alice.create_node(PUBSUB_DOMAIN, "news")
        source = subscribe(user=bob, address=f"xmpp:{PUBSUB_DOMAIN}?;node=news").source
        wait_for(lambda: _subscribed(source), what="the node subscription")
        item = _item_id()
        alice.publish(item, atom_entry(title="news", body="service node", entry_id="n1"), service=PUBSUB_DOMAIN,
                      node="news")  # fmt: skip
        post = wait_for(lambda: Post.objects.filter(source=source, guid=item).first(), what="the node's post")
        assert post.author_handle in (PUBSUB_DOMAIN, f"alice@{DOMAIN}")

        unsubscribe(user=bob, subscription_id=source.subscriptions.get(user=bob).pk)
        wait_for(lambda: Source.objects.get(pk=source.pk).push_state == Source.PushState.NONE, what="unsubscribe")


def test_missing_node_shows_an_error_on_the_source(hub, prosody, bob):
    source = subscribe(user=bob, address=f"xmpp:{PUBSUB_DOMAIN}?;node=does-not-exist").source
    wait_for(lambda: Source.objects.get(pk=source.pk).push_state == Source.PushState.ERROR, what="the error")
    source.refresh_from_db()
    assert "subscription refused" in source.push_error


def test_session_loss_is_shown_and_the_listener_reconnects(prosody, bob, tmp_path):
    listener = ListenerThread(_hub_settings(prosody))
    listener.start()
    listener.wait_until_connected()
    try:
        with _person(prosody, "alice") as alice:
            _has_posted(alice)  # the reconnected hub subscribes again, explicitly: the node must exist
            source = _follow_microblog(bob, f"alice@{DOMAIN}")
            # Kick the hub's session from the server side: a second login with the same full JID is not
            # possible here, so stop the client's transport abruptly (the server sees a dropped connection).
            listener.loop.call_soon_threadsafe(lambda: listener.listener.client.abort())
            wait_for(lambda: Source.objects.get(pk=source.pk).push_state == Source.PushState.ERROR,
                     what="the lost session on the source")  # fmt: skip
            assert "XMPP session lost" in Source.objects.get(pk=source.pk).push_error
            wait_for(lambda: listener.listener.sessions >= 2, timeout=20, what="the reconnect")
            wait_for(lambda: Source.objects.get(pk=source.pk).push_state == Source.PushState.SUBSCRIBED,
                     what="subscribed again")  # fmt: skip
            item = _item_id()
            alice.publish(item, atom_entry(title="after reconnect", body="ok", entry_id="ar"))
            wait_for(lambda: Post.objects.filter(source=source, guid=item).exists(), what="the post after reconnect")
    finally:
        listener.stop()


def test_feed_that_names_its_node_is_polled_only_as_a_safety_net_while_pushes_arrive(hub, prosody, bob, httpserver):
    from aggregator.ingest import push
    from aggregator.ingest.polling import poll_source

    feed = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Alice's microblog</title>
<link rel="alternate" href="http://example.org/alice"/>
<link rel="alternate" href="xmpp:alice@{DOMAIN}?;node=urn%3Axmpp%3Amicroblog%3A0"/>
<id>tag:alice</id><updated>2026-11-01T00:00:00Z</updated>
<entry><id>tag:alice,9</id><title>from the feed</title><updated>2026-11-01T00:00:00Z</updated></entry></feed>"""
    httpserver.expect_request("/alice.atom").respond_with_data(feed, content_type="application/atom+xml")
    with _person(prosody, "alice") as alice:
        _has_posted(alice)
        source = subscribe(user=bob, address=httpserver.url_for("/alice.atom")).source
        source.refresh_from_db()
        # The running listener may already have subscribed by now: pending or subscribed, the node was found.
        assert (source.kind, source.push_jid) == ("rss", f"alice@{DOMAIN}")
        assert source.push_state in ("pending", "subscribed")
        wait_for(lambda: _subscribed(source), what="the hub to subscribe to the feed's node")
        item = _item_id()
        alice.publish(item, atom_entry(title="pushed", body="by xmpp", entry_id="tag:alice,10"))
        wait_for(lambda: Post.objects.filter(source=source, guid=item).exists(), what="the pushed post")

        source.refresh_from_db()
        assert push.push_covers(source)
        before = datetime.now(UTC)
        poll_source(source_id=source.pk)
        source.refresh_from_db()
        assert source.next_poll_at - before >= push.SAFETY_NET_INTERVAL * 0.9  # the slow safety net

        # Push path silent for too long: the feed goes back to its normal adaptive rate.
        Source.objects.filter(pk=source.pk).update(
            last_push_at=before - timedelta(days=30), push_state_at=before - timedelta(days=30), etag="",
            last_modified="", posts_per_day=24.0,
        )  # fmt: skip
        source.refresh_from_db()
        assert not push.push_covers(source)
        poll_source(source_id=source.pk)
        source.refresh_from_db()
        assert source.next_poll_at - datetime.now(UTC) < push.SAFETY_NET_INTERVAL


def test_serve_runs_the_listener_and_shows_pushed_posts(prosody, tmp_path, embedded_databases):
    """The embedded hub (its own SQLite, no broker) with XMPP configured: follow by JID over the API."""
    import json
    import urllib.request

    env = embedded_env(tmp_path)
    env.update(CHORUS_XMPP_JID=f"hub@{DOMAIN}", CHORUS_XMPP_PASSWORD=PASSWORD, CHORUS_XMPP_HOST="127.0.0.1",
               CHORUS_XMPP_PORT=str(prosody.port), CHORUS_XMPP_TLS="false")  # fmt: skip
    embedded_databases.copy_to(tmp_path)  # migrated
    manage("createsuperuser", "--noinput", "--username", "dora", "--email", "dora@example.org",
           env={**env, "DJANGO_SUPERUSER_PASSWORD": "pw-dora-123"})  # fmt: skip
    token = manage("issue_token", "dora", env=env).strip().split()[-1]
    port = free_port()
    server = start_serve(port=port, env=env)

    def api(method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1{path}", method=method,
                                         data=json.dumps(body).encode() if body else None,
                                         headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    try:
        with _person(prosody, "bob") as bob_xmpp:
            _has_posted(bob_xmpp)
            created = api("POST", "/subscriptions", {"address": f"bob@{DOMAIN}"})
            source_id = created["source"]["id"]
            wait_for(lambda: api("GET", f"/sources/{source_id}").get("push", {}).get("state") == "subscribed",
                     what="the embedded listener's subscription")  # fmt: skip
            item = _item_id()
            bob_xmpp.publish(item, atom_entry(title="via serve", body="<p>embedded push</p>", entry_id="s1"))

            def timeline_with_the_push() -> list | None:
                # The earlier post comes with the node's history, possibly after the subscription shows.
                items = api("GET", "/timeline")["items"]
                return items if any(i["title"] == "via serve" for i in items) else None

            items = wait_for(timeline_with_the_push, what="the pushed post on the timeline")
            assert items[0]["title"] == "via serve" and items[0]["author"]["handle"] == f"bob@{DOMAIN}"
    finally:
        output = stop(server)
    assert "Traceback" not in output, output


def test_presence_access_model_is_followed_through_a_presence_subscription(hub, prosody, bob):
    """A microblog only contacts may read: the hub asks for presence, the owner's client accepts, +notify works."""
    with _person(prosody, "dave") as dave:
        dave.publish("contacts-1", atom_entry(title="for contacts", body="hi", entry_id="c1"), access_model="presence")
        source = subscribe(user=bob, address=f"dave@{DOMAIN}").source
        wait_for(lambda: _subscribed(source), timeout=20, what="the presence-based subscription")
        wait_for(lambda: Post.objects.filter(source=source, guid="contacts-1").exists(), what="the history item")
        item = _item_id()
        dave.publish(item, atom_entry(title="pushed to contacts", body="ok", entry_id="c2"), access_model="presence")
        wait_for(lambda: Post.objects.filter(source=source, guid=item).exists(), what="the +notify push")


def _fake_server(opening: str):
    """A loopback 'XMPP server' that answers each connection with ``opening`` and records what the client sent."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    connections: list[bytes] = []

    def serve():
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            client.settimeout(1.0)
            received = client.recv(4096)
            client.sendall(opening.encode())
            try:
                while chunk := client.recv(4096):
                    received += chunk
            except OSError:
                pass
            connections.append(received)
            client.close()

    threading.Thread(target=serve, daemon=True).start()
    return server, connections


STREAM_HEADER = ("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
                 "from='chorus.test' id='s1' version='1.0'><stream:features><mechanisms "
                 "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>")  # fmt: skip
LAUGHS = "<!DOCTYPE stream:stream [<!ENTITY a0 'aaaaaaaaaa'>" + "".join(
    f"<!ENTITY a{n} '{f'&a{n - 1};' * 10}'>" for n in range(1, 9)) + "]>"  # fmt: skip


@pytest.mark.parametrize("with_dtd", [False, True], ids=["plain-stream", "stream-with-dtd"])
def test_a_server_stream_with_a_dtd_is_dropped_unparsed(with_dtd, caplog):
    """Entity declarations in the stream are never expanded; the listener drops the stream and
    reconnects (the control case, the same stream without a DTD, gets as far as authenticating)."""
    opening = "<?xml version='1.0'?>" + (LAUGHS if with_dtd else "") + STREAM_HEADER + (
        "<message><body>&a8;</body></message>" if with_dtd else "")  # fmt: skip
    server, connections = _fake_server(opening)
    listener = ListenerThread(Settings(jid=f"hub@{DOMAIN}", password="x", host="127.0.0.1",
                                       port=server.getsockname()[1], tls=False))  # fmt: skip
    listener.start()
    try:
        wait_for(lambda: len(connections) >= (2 if with_dtd else 1), timeout=20, what="the listener's connections")
    finally:
        listener.stop()
        server.close()
    assert listener.is_alive() is False
    sent_after_header = connections[0].split(b">", 1)[1]
    if with_dtd:
        assert b"<auth" not in sent_after_header  # never went on with a stream that declares entities
        assert "aaaaaaaaaa" * 100 not in caplog.text
    else:
        assert b"<auth" in sent_after_header
