"""The WebSocket stream /ws/stream/: who may connect, whose events arrive, and only after commit.

Each test is one coroutine (the communicator lives on one event loop); database work inside it runs through
``database_sync_to_async`` as it would in the server.
"""

import os
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from accounts.identities import identity_create
from accounts.models import ApiToken
from accounts.tokens import issue_token, revoke_token
from aggregator.asgi import application
from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest
from aggregator.models import Source, Subscription
from timelines.models import TimelineEntry
from tracks.services import track_create

pytestmark = pytest.mark.django_db(transaction=True)  # the consumer reads the database from other threads


def run(scenario):
    async_to_sync(scenario)()


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


# What a browser on the hub's own page sends: the Host it connects to and that same origin.
OUR_PAGE = [(b"host", b"localhost"), (b"origin", b"http://localhost")]


def bearer(user) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {issue_token(user=user)}".encode())]


async def connect(headers: list[tuple[bytes, bytes]]) -> tuple[WebsocketCommunicator, bool]:
    communicator = WebsocketCommunicator(application, "/ws/stream/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


def connects(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether a socket with these handshake headers is accepted (closed again at once)."""

    async def scenario():
        communicator, connected = await connect(headers)
        if connected:
            await communicator.disconnect()
        return connected

    return async_to_sync(scenario)()


def followed(user, name: str = "carol") -> Source:
    source, _ = Source.objects.get_or_create(address=f"https://{name}.example/feed", url=f"https://{name}.example/feed",
                                             defaults={"title": name})  # fmt: skip
    Subscription.objects.get_or_create(user=user, source=source)
    return source


store = database_sync_to_async(ingest)


async def before_sentinel(communicator: WebsocketCommunicator, source: Source) -> list[dict]:
    """Store a post titled "sentinel" in ``source`` (one the socket's person follows) and return what the socket
    received before its ``post.new``. Events leave in the order they were sent, so whatever had been sent to
    the socket before has arrived by then: "nothing else came" is ``== []``, without waiting in vain."""
    await store(source, [Entry(guid=f"sentinel-{uuid.uuid4().hex}", title="sentinel")])
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        if frame["type"] == "post.new" and frame["post"]["title"] == "sentinel":
            return frames
        frames.append(frame)


def test_a_token_client_receives_new_posts_of_its_sources(alice):
    source, headers = followed(alice), bearer(alice)

    async def scenario():
        communicator, connected = await connect(headers)
        assert connected
        await store(source, [Entry(guid="1", title="hello live", content_html="<p>hi</p>")])
        event = await communicator.receive_json_from(timeout=5)
        assert event["type"] == "post.new" and event["post"]["title"] == "hello live"
        assert {"id", "url", "source", "author", "content_html", "text", "published", "in_reply_to"} <= event["post"].keys()
        await communicator.disconnect()

    run(scenario)


def test_a_browser_session_from_our_own_origin_connects(alice):
    headers = [*OUR_PAGE, (b"cookie", session_cookie(alice))]

    async def scenario():
        communicator, connected = await connect(headers)
        assert connected
        await communicator.disconnect()

    run(scenario)


@pytest.mark.parametrize("origin", [b"https://evil.example", b"null", None])
def test_a_session_from_a_foreign_or_missing_origin_is_refused(alice, origin):
    headers = [(b"host", b"localhost"), (b"cookie", session_cookie(alice))] + ([(b"origin", origin)] if origin else [])

    async def scenario():
        _, connected = await connect(headers)
        assert not connected

    run(scenario)


@pytest.mark.parametrize("origin", [b"http://localhost:9999", b"https://localhost", b"http://127.0.0.1",
                                    b"ws://localhost", b"http://localhost:80@evil.example"])  # fmt: skip
def test_a_session_from_our_host_name_on_another_scheme_or_port_is_refused(alice, origin):
    assert not connects([(b"host", b"localhost"), (b"origin", origin), (b"cookie", session_cookie(alice))])


@pytest.mark.parametrize(("forwarded_proto", "origin", "allowed"), [
    (b"https", b"https://localhost", True), (b"https", b"http://localhost", False),
    (b"http", b"https://localhost", False),
])  # fmt: skip
def test_behind_the_tls_proxy_the_forwarded_scheme_counts(alice, settings, forwarded_proto, origin, allowed):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # what CHORUS_HTTPS sets
    headers = [(b"host", b"localhost"), (b"x-forwarded-proto", forwarded_proto), (b"origin", origin),
               (b"cookie", session_cookie(alice))]  # fmt: skip
    assert connects(headers) is allowed


@pytest.mark.parametrize(("origin", "allowed"), [
    (b"https://chorus.example", True), (b"https://app.chorus.example", True), (b"http://chorus.example", False),
    (b"https://chorus.example:8443", False), (b"https://mirror.example", True), (b"http://mirror.example", False),
])  # fmt: skip
def test_csrf_trusted_origins_are_trusted_as_django_reads_them(alice, settings, origin, allowed):
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.chorus.example", "https://mirror.example"]
    assert connects([(b"host", b"localhost"), (b"origin", origin), (b"cookie", session_cookie(alice))]) is allowed


def test_what_a_client_sends_is_dropped_unread_and_its_socket_keeps_streaming(alice):
    source, headers = followed(alice), bearer(alice)

    async def scenario():
        communicator, _ = await connect(headers)
        await communicator.send_to(text_data="{not json")  # would fail to decode, closing the socket
        await communicator.send_to(bytes_data=b"\x00\xff")
        assert await before_sentinel(communicator, source) == []
        await communicator.disconnect()

    run(scenario)


def test_anonymous_and_revoked_clients_are_refused(alice):
    token = issue_token(user=alice)
    revoke_token(user=alice, token_id=ApiToken.objects.get(prefix=token[7:15]).pk)

    async def scenario():
        _, anonymous = await connect(OUR_PAGE)
        _, revoked = await connect([(b"authorization", f"Bearer {token}".encode())])
        assert not anonymous and not revoked

    run(scenario)


def test_bob_never_receives_alices_events(alice, bob):
    source = followed(alice)
    dave = followed(bob, "dave")
    alice_headers, bob_headers = bearer(alice), bearer(bob)

    async def scenario():
        alices, _ = await connect(alice_headers)
        bobs, connected = await connect(bob_headers)
        assert connected
        await store(source, [Entry(guid="1", title="for alice only")])
        assert (await alices.receive_json_from(timeout=5))["post"]["title"] == "for alice only"
        assert await before_sentinel(bobs, dave) == []
        await alices.disconnect()
        await bobs.disconnect()

    run(scenario)


def test_events_are_sent_only_after_the_commit(alice):
    source, headers = followed(alice), bearer(alice)

    @database_sync_to_async
    def store_then_check_nothing_yet(communicator, *, roll_back: bool):
        try:
            with transaction.atomic():
                ingest(source, [Entry(guid="rb" if roll_back else "c", title="rolled back" if roll_back else "committed")])
                assert async_to_sync(communicator.receive_nothing)(timeout=0.3)  # inside the transaction: nothing
                if roll_back:
                    raise RuntimeError("roll back")
        except RuntimeError:
            pass

    async def scenario():
        communicator, _ = await connect(headers)
        await store_then_check_nothing_yet(communicator, roll_back=False)
        assert (await communicator.receive_json_from(timeout=5))["post"]["title"] == "committed"
        await store_then_check_nothing_yet(communicator, roll_back=True)
        assert await before_sentinel(communicator, source) == []  # the rolled-back post never left
        await communicator.disconnect()

    run(scenario)


def test_a_batchs_events_leave_together_in_order_and_a_rolled_back_savepoints_never(alice):
    source, headers = followed(alice), bearer(alice)
    identity_create(user=alice, kind="fediverse", value="alice@example.social", verified=True)
    track_create(user=alice, query="comet")
    mention = "<p>@alice@example.social look, a comet</p>"

    @database_sync_to_async
    def store_with_a_savepoint_that_rolls_back():
        with transaction.atomic():
            ingest(source, [Entry(guid="1", title="kept", content_html=mention)])
            try:
                with transaction.atomic():  # a savepoint: its rows and its events go
                    ingest(source, [Entry(guid="2", title="undone", content_html=mention)])
                    raise RuntimeError("roll the savepoint back")
            except RuntimeError:
                pass

    async def scenario():
        communicator, _ = await connect(headers)
        await store_with_a_savepoint_that_rolls_back()
        got = [await communicator.receive_json_from(timeout=5) for _ in range(3)]
        assert [(e["type"], e["post"]["title"]) for e in got] == [
            ("post.new", "kept"), ("reply.new", "kept"), ("track.match", "kept")]  # fmt: skip
        assert await before_sentinel(communicator, source) == []
        await communicator.disconnect()

    run(scenario)


def test_revoking_a_token_closes_its_sockets(alice):
    token = issue_token(user=alice)
    token_id = ApiToken.objects.get(prefix=token[7:15]).pk

    async def scenario():
        communicator, connected = await connect([(b"authorization", f"Bearer {token}".encode())])
        assert connected
        await database_sync_to_async(revoke_token)(user=alice, token_id=token_id)
        assert (await communicator.receive_output(timeout=5))["type"] == "websocket.close"

    run(scenario)


def test_logging_out_closes_that_sessions_sockets_only(alice):
    browser = Client()
    browser.force_login(alice)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    other_token = issue_token(user=alice)
    source = followed(alice)

    async def scenario():
        session_socket, connected = await connect([*OUR_PAGE, (b"cookie", cookie)])
        token_socket, _ = await connect([(b"authorization", f"Bearer {other_token}".encode())])
        assert connected
        await database_sync_to_async(browser.post)("/accounts/logout/")
        assert (await session_socket.receive_output(timeout=5))["type"] == "websocket.close"
        assert await before_sentinel(token_socket, source) == []  # another client of alice's stays connected
        await token_socket.disconnect()

    run(scenario)


def test_followers_hear_when_a_source_starts_failing(alice, httpserver):
    from aggregator.ingest.polling import poll_source

    httpserver.expect_request("/feed.xml").respond_with_data("down for maintenance", status=503)
    source = Source.objects.create(address=httpserver.url_for("/feed.xml"), url=httpserver.url_for("/feed.xml"),
                                   status=Source.Status.OK)  # fmt: skip
    Subscription.objects.create(user=alice, source=source)
    headers = bearer(alice)

    async def scenario():
        communicator, _ = await connect(headers)
        await database_sync_to_async(poll_source)(source_id=source.pk)
        event = await communicator.receive_json_from(timeout=5)
        assert event["type"] == "source.status" and event["source"]["status"] == "error"
        assert "503" in event["source"]["last_error"]
        await database_sync_to_async(poll_source)(source_id=source.pk)  # still failing the same way: no event
        assert await before_sentinel(communicator, source) == []
        await communicator.disconnect()

    run(scenario)


def test_reading_sends_exact_unread_counts_to_the_readers_clients_only(alice, bob):
    from aggregator.models import SubscriptionTag
    from timelines.services import mark_read

    carol, dave = followed(alice), followed(alice, "dave")
    SubscriptionTag.objects.create(subscription=Subscription.objects.get(user=alice, source=carol), name="friends")
    followed(bob)
    alice_headers, bob_headers = bearer(alice), bearer(bob)

    async def scenario():
        alices, _ = await connect(alice_headers)
        bobs, _ = await connect(bob_headers)
        await store(carol, [Entry(guid="c1", title="carol one"), Entry(guid="c2", title="carol two")])
        await store(dave, [Entry(guid="d1", title="dave one")])
        new = [await alices.receive_json_from(timeout=5) for _ in range(3)]
        assert [event["type"] for event in new] == ["post.new"] * 3
        for _ in range(2):
            await bobs.receive_json_from(timeout=5)  # bob follows carol too: her two posts
        read = next(event["post"]["id"] for event in new if event["post"]["title"] == "carol one")
        await database_sync_to_async(mark_read)(user=alice, post_ids=[read])
        counts = await alices.receive_json_from(timeout=5)
        assert counts == {"type": "unread.counts", "total": 2, "sources": {str(carol.pk): 1, str(dave.pk): 1},
                          "tags": {"friends": 1}}  # fmt: skip
        assert await before_sentinel(bobs, carol) == []  # bob's counts did not change
        await alices.disconnect()
        await bobs.disconnect()

    run(scenario)


def test_a_block_sends_unread_counts_that_leave_out_what_it_hides(alice):
    from timelines.blocks import block_create

    carol, headers = followed(alice), bearer(alice)

    async def scenario():
        communicator, _ = await connect(headers)
        await store(carol, [Entry(guid="1", title="buy spam"), Entry(guid="2", title="a fine post")])
        for _ in range(2):
            assert (await communicator.receive_json_from(timeout=5))["type"] == "post.new"
        await database_sync_to_async(block_create)(user=alice, kind="word", value="spam")
        events = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
        assert [event["type"] for event in events] == ["block.new", "unread.counts"]
        assert events[1]["total"] == 1 and events[1]["sources"] == {str(carol.pk): 1}
        await communicator.disconnect()

    run(scenario)


def test_unread_counts_are_sent_after_the_commit_and_reflect_it(alice):
    from timelines.cursor import encode_cursor
    from timelines.services import mark_all_read

    source, headers = followed(alice), bearer(alice)

    @database_sync_to_async
    def mark_all_read_then_check_nothing_yet(communicator):
        newest = TimelineEntry.objects.filter(user=alice).order_by("-published", "-post_id").first()
        with transaction.atomic():
            assert mark_all_read(user=alice, up_to=encode_cursor(newest.published, newest.post_id)) == 2
            assert async_to_sync(communicator.receive_nothing)(timeout=0.3)  # inside the transaction: nothing

    async def scenario():
        communicator, _ = await connect(headers)
        await store(source, [Entry(guid="1", title="one"), Entry(guid="2", title="two")])
        for _ in range(2):
            assert (await communicator.receive_json_from(timeout=5))["type"] == "post.new"
        await mark_all_read_then_check_nothing_yet(communicator)
        event = await communicator.receive_json_from(timeout=5)
        assert event == {"type": "unread.counts", "total": 0, "sources": {}, "tags": {}}
        await communicator.disconnect()

    run(scenario)


def test_a_channel_layer_that_is_down_never_breaks_ingest_and_sending_resumes(alice, settings, caplog):
    from aggregator import events

    from tests.servers.processes import free_port

    source, headers = followed(alice), bearer(alice)
    working = settings.CHANNEL_LAYERS
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "aggregator.events.layers.PipelinedRedisPubSubChannelLayer",
                                           "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]}}}  # fmt: skip
    result = ingest(source, [Entry(guid="1", title="stored while redis is away")])
    assert len(result.created) == 1 and TimelineEntry.objects.filter(user=alice).count() == 1
    assert events.flush(timeout=10)
    assert "messages not sent" in caplog.text  # logged, and forgotten
    settings.CHANNEL_LAYERS = working

    async def scenario():
        communicator, _ = await connect(headers)
        await store(source, [Entry(guid="2", title="after the outage")])
        assert (await communicator.receive_json_from(timeout=5))["post"]["title"] == "after the outage"
        await communicator.disconnect()

    run(scenario)


def test_a_channel_layer_that_hangs_stalls_ingest_only_briefly(alice, settings):
    import time

    from aggregator import events

    from tests.servers.feedservers import RawServer, silent

    source = followed(alice)
    hanging = RawServer(silent(lasting=30))  # accepts the connection, never answers
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "aggregator.events.layers.PipelinedRedisPubSubChannelLayer",
                                           "CONFIG": {"hosts": [f"redis://127.0.0.1:{hanging.port}/0"]}}}  # fmt: skip
    try:
        started = time.monotonic()
        for n in range(5):
            ingest(source, [Entry(guid=str(n), title=f"post {n}")])
        stalled = time.monotonic() - started
    finally:
        hanging.close()  # the stuck sends fail now; the publisher drains before the next test
        assert events.flush(timeout=20)
    assert stalled < events.publisher.WAIT_TIMEOUT + 1.5  # one wait in vain, then senders stop waiting
    assert TimelineEntry.objects.filter(user=alice).count() == 5


def test_the_embedded_layer_delivers_posts_stored_on_another_thread(alice, settings):
    """`serve` polls on its own threads: their events must reach consumers on the server's event loop."""
    import threading

    from django.db import connection

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "aggregator.events.layers.InMemoryChannelLayer"}}
    source, headers = followed(alice), bearer(alice)

    def poll_thread():
        try:
            ingest(source, [Entry(guid="1", title="from a poll thread")])
        finally:
            connection.close()

    async def scenario():
        communicator, _ = await connect(headers)
        thread = threading.Thread(target=poll_thread)
        thread.start()
        assert (await communicator.receive_json_from(timeout=5))["post"]["title"] == "from a poll thread"
        thread.join()
        await communicator.disconnect()

    run(scenario)


def test_a_forked_worker_process_sends_through_its_own_publisher(alice):
    """Celery's prefork pool forks after the parent may have sent: the child must not use the parent's thread."""
    import os

    from channels.layers import get_channel_layer

    from aggregator import events

    if not hasattr(get_channel_layer(), "_get_layer"):
        pytest.skip("needs the Redis channel layer (REDIS_URL): an in-memory layer does not cross processes")
    source, headers = followed(alice), bearer(alice)

    @database_sync_to_async
    def fork_and_send() -> int:
        pid = os.fork()
        if pid == 0:  # the child: no database, only the stream
            code = 1
            try:
                events.send_now(user_ids=[alice.pk], event={"type": "from.child", "pid": os.getpid()})
                code = 0 if events.flush(timeout=5) else 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        return pid if os.waitstatus_to_exitcode(status) == 0 else -1

    async def scenario():
        communicator, _ = await connect(headers)
        await store(source, [Entry(guid="1", title="the parent sends first")])  # the parent's publisher runs
        assert (await communicator.receive_json_from(timeout=5))["type"] == "post.new"
        child = await fork_and_send()
        assert child > 0
        assert await communicator.receive_json_from(timeout=5) == {"type": "from.child", "pid": child}
        await communicator.disconnect()

    run(scenario)


def test_a_retraction_takes_the_post_away_from_followers_pages(alice, bob):
    from aggregator.ingest.pipeline import retract

    source, dave = followed(alice), followed(bob, "dave")
    headers_alice, headers_bob = bearer(alice), bearer(bob)
    retract = database_sync_to_async(retract)

    async def scenario():
        communicator, connected = await connect(headers_alice)
        other, other_connected = await connect(headers_bob)
        assert connected and other_connected
        await store(source, [Entry(guid="item-1", title="soon gone", content_html="<p>x</p>")])
        post_id = (await communicator.receive_json_from(timeout=5))["post"]["id"]
        await retract(source, ["item-1"])
        event = await communicator.receive_json_from(timeout=5)
        assert event == {"type": "post.retracted", "post_ids": [post_id]}
        assert await before_sentinel(other, dave) == []
        await communicator.disconnect()
        await other.disconnect()

    run(scenario)


@pytest.mark.parametrize("pipelined", [True, False])
def test_a_batch_reaches_every_group_through_redis_pipelined_or_one_by_one(pipelined):
    """The pipelined layer reads channels_redis internals (checked with the pinned version); without them it falls
    back to one public group_send per message. Both deliver every message of a batch, in order."""
    from aggregator.events import layers

    assert layers.PIPELINE_INTERNALS, "channels_redis changed: re-check aggregator/events/layers.py"
    layer = layers.PipelinedRedisPubSubChannelLayer(hosts=[os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")],
                                                    pipelined=pipelined)  # fmt: skip
    assert layer.pipelined is pipelined

    async def scenario():
        channels = [await layer.new_channel() for _ in range(3)]
        for n, channel in enumerate(channels):
            await layer.group_add(f"pipeline-test.{n}", channel)
        await layer.group_send_many([(f"pipeline-test.{n}", {"type": "t", "n": n, "k": k})
                                     for k in range(2) for n in range(3)])  # fmt: skip
        received = [[(await layer.receive(channel))["k"] for _ in range(2)] for channel in channels]
        await layer.flush()
        return received

    assert async_to_sync(scenario)() == [[0, 1], [0, 1], [0, 1]]


def test_one_message_to_many_groups_reaches_each_in_the_batchs_order():
    """A message sent to several groups in a row leaves as one script publishing it to each (a post to its
    followers); single sends and runs interleave, and every group still gets its messages in batch order."""
    from aggregator.events import layers

    layer = layers.PipelinedRedisPubSubChannelLayer(hosts=[os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")])
    messages = [{"type": "t", "k": k} for k in range(4)]
    plan = [(0, [0, 1, 2]), (1, [1]), (2, [0, 2]), (3, [0, 1, 2])]

    async def scenario():
        channels = [await layer.new_channel() for _ in range(3)]
        for n, channel in enumerate(channels):
            await layer.group_add(f"runs-test.{n}", channel)
        await layer.group_send_many([(f"runs-test.{n}", messages[k]) for k, groups in plan for n in groups])
        received = [[(await layer.receive(channel))["k"] for _ in range(3)] for channel in channels]
        await layer.flush()
        return received

    assert async_to_sync(scenario)() == [[0, 2, 3], [0, 1, 3], [0, 2, 3]]


def test_observers_hear_each_batch_queued_and_sent_and_one_that_fails_stops_nothing(settings):
    """The public timing hook (bench/live.py): told of every batch; an observer that raises is logged, and the
    others and the events themselves go on."""
    from aggregator import events

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "aggregator.events.layers.InMemoryChannelLayer"}}

    class Broken:
        def queued(self, batch):
            raise RuntimeError("observer bug")

        def sent(self, batch, *, started, ended, ok):
            raise RuntimeError("observer bug")

    heard = []

    class Listening:
        def queued(self, batch):
            heard.append(("queued", len(batch)))

        def sent(self, batch, *, started, ended, ok):
            heard.append(("sent", len(batch), ok, ended >= started))

    stops = [events.observe(Broken()), events.observe(Listening())]
    try:
        events.publish(events.messages_for(user_ids=[1, 2], events=[{"type": "test.event"}]))
        assert events.flush(timeout=5)
    finally:
        for stop in stops:
            stop()
    events.publish(events.messages_for(user_ids=[3], events=[{"type": "test.event"}]))  # no longer observed
    assert events.flush(timeout=5)
    assert heard == [("queued", 2), ("sent", 2, True, True)]
