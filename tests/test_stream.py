"""The WebSocket stream /ws/stream/: who may connect, whose events arrive, and only after commit.

Each test is one coroutine (the communicator lives on one event loop); database work inside it runs through
``database_sync_to_async`` as it would in the server.
"""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from accounts.models import ApiToken
from accounts.tokens import issue_token, revoke_token
from aggregator.asgi import application
from aggregator.entry import Entry
from aggregator.ingest import store_entries
from aggregator.models import Source, Subscription

pytestmark = pytest.mark.django_db(transaction=True)  # the consumer reads the database from other threads


def run(scenario):
    async_to_sync(scenario)()


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def bearer(user) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {issue_token(user=user)}".encode())]


async def connect(headers: list[tuple[bytes, bytes]]) -> tuple[WebsocketCommunicator, bool]:
    communicator = WebsocketCommunicator(application, "/ws/stream/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


def followed(user, name: str = "carol") -> Source:
    source, _ = Source.objects.get_or_create(address=f"https://{name}.example/feed", url=f"https://{name}.example/feed",
                                             defaults={"title": name})  # fmt: skip
    Subscription.objects.get_or_create(user=user, source=source)
    return source


store = database_sync_to_async(store_entries)


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
    headers = [(b"origin", b"http://localhost"), (b"cookie", session_cookie(alice))]

    async def scenario():
        communicator, connected = await connect(headers)
        assert connected
        await communicator.disconnect()

    run(scenario)


@pytest.mark.parametrize("origin", [b"https://evil.example", b"null", None])
def test_a_session_from_a_foreign_or_missing_origin_is_refused(alice, origin):
    headers = [(b"cookie", session_cookie(alice))] + ([(b"origin", origin)] if origin else [])

    async def scenario():
        _, connected = await connect(headers)
        assert not connected

    run(scenario)


def test_anonymous_and_revoked_clients_are_refused(alice):
    token = issue_token(user=alice)
    revoke_token(user=alice, token_id=ApiToken.objects.get(prefix=token[7:15]).pk)

    async def scenario():
        _, anonymous = await connect([(b"origin", b"http://localhost")])
        _, revoked = await connect([(b"authorization", f"Bearer {token}".encode())])
        assert not anonymous and not revoked

    run(scenario)


def test_bob_never_receives_alices_events(alice, bob):
    source = followed(alice)
    followed(bob, "dave")
    alice_headers, bob_headers = bearer(alice), bearer(bob)

    async def scenario():
        alices, _ = await connect(alice_headers)
        bobs, connected = await connect(bob_headers)
        assert connected
        await store(source, [Entry(guid="1", title="for alice only")])
        assert (await alices.receive_json_from(timeout=5))["post"]["title"] == "for alice only"
        assert await bobs.receive_nothing(timeout=0.5)
        await alices.disconnect()
        await bobs.disconnect()

    run(scenario)


def test_events_are_sent_only_after_the_commit(alice):
    source, headers = followed(alice), bearer(alice)

    @database_sync_to_async
    def store_then_check_nothing_yet(communicator, *, roll_back: bool):
        try:
            with transaction.atomic():
                store_entries(source, [Entry(guid="rb" if roll_back else "c", title="rolled back" if roll_back else "committed")])
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
        assert await communicator.receive_nothing(timeout=0.5)
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

    async def scenario():
        session_socket, connected = await connect([(b"origin", b"http://localhost"), (b"cookie", cookie)])
        token_socket, _ = await connect([(b"authorization", f"Bearer {other_token}".encode())])
        assert connected
        await database_sync_to_async(browser.post)("/accounts/logout/")
        assert (await session_socket.receive_output(timeout=5))["type"] == "websocket.close"
        assert await token_socket.receive_nothing(timeout=0.5)  # another client of alice's stays connected
        await token_socket.disconnect()

    run(scenario)


def test_followers_hear_when_a_source_starts_failing(alice, httpserver):
    from aggregator.polling import poll_source

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
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()

    run(scenario)
