"""Mastodon's streaming API over WebSocket and server-sent events: new posts as ``update``s on the user and
hashtag streams, authenticated by token only, scoped to the person, closed when the token is revoked.

Each test is one coroutine (the communicator lives on one event loop); database work runs through
``database_sync_to_async`` as it would in the server."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient, Client
from oauth2_provider.models import AccessToken

from accounts.tokens import issue_token
from aggregator.asgi import application
from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest
from aggregator.models import Source, Subscription, SubscriptionTag

from tests.compat.mastodon.oauth_flow import register, token_for

pytestmark = pytest.mark.django_db(transaction=True)  # the consumer reads the database from other threads
store = database_sync_to_async(ingest)


def followed(user, name: str, *, tag: str = "") -> Source:
    source = Source.objects.create(address=f"https://{name}.example/feed", url=f"https://{name}.example/feed",
                                   title=name)  # fmt: skip
    subscription = Subscription.objects.create(user=user, source=source)
    if tag:
        SubscriptionTag.objects.create(subscription=subscription, name=tag)
    return source


def oauth_token(user, scopes: str = "read write follow") -> str:
    client = Client()
    client.force_login(user)
    return token_for(client, register(client, scopes=scopes), scopes=scopes)


async def socket(query: str, headers=()) -> tuple[WebsocketCommunicator, bool]:
    communicator = WebsocketCommunicator(application, f"/api/v1/streaming?{query}",
                                         headers=[(b"host", b"testserver"), *headers])  # fmt: skip
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


async def next_frame(communicator: WebsocketCommunicator) -> dict:
    frame = json.loads(await communicator.receive_from(timeout=5))
    if "payload" in frame:
        frame["payload"] = json.loads(frame["payload"])
    return frame


def test_the_user_stream_carries_new_posts_as_updates_over_a_websocket(alice):
    carol = followed(alice, "carol")
    token = oauth_token(alice)

    async def scenario():
        communicator, connected = await socket(f"stream=user&access_token={token}",
                                               headers=[(b"origin", b"https://elk.example")])  # fmt: skip
        assert connected  # a token, not cookies: a web app's foreign Origin is no reason to refuse it
        await store(carol, [Entry(guid="c1", url="https://carol.example/1", content_html="<p>hi from carol</p>")])
        frame = await next_frame(communicator)
        assert frame["stream"] == ["user"] and frame["event"] == "update"
        assert frame["payload"]["account"]["display_name"] == "carol"
        assert "hi from carol" in frame["payload"]["content"]
        assert frame["payload"]["account"]["avatar"].startswith("http://testserver/")
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_a_hashtag_stream_carries_only_the_sources_so_tagged(alice):
    carol, dave = followed(alice, "carol", tag="friends"), followed(alice, "dave")
    token = issue_token(user=alice)

    async def scenario():
        communicator, connected = await socket("", headers=[(b"authorization", f"Bearer {token}".encode())])
        assert connected
        await communicator.send_to(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "friends"}))
        await communicator.send_to(json.dumps({"type": "subscribe", "stream": "public"}))
        assert "Unknown stream" in (await next_frame(communicator))["error"]  # frames are handled in order
        await store(dave, [Entry(guid="d1", content_html="<p>dave</p>")])
        await store(carol, [Entry(guid="c1", content_html="<p>carol</p>")])
        frame = await next_frame(communicator)
        assert frame["stream"] == ["hashtag", "friends"] and "carol" in frame["payload"]["content"]
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_another_persons_posts_never_reach_the_stream(alice, bob):
    bobs, alices = followed(bob, "erin"), followed(alice, "carol")
    token = issue_token(user=alice)

    async def scenario():
        communicator, _ = await socket(f"stream=user&access_token={token}")
        await store(bobs, [Entry(guid="e1", content_html="<p>for bob</p>")])
        await store(alices, [Entry(guid="c1", content_html="<p>for alice</p>")])
        assert "for alice" in (await next_frame(communicator))["payload"]["content"]
        await communicator.disconnect()

    async_to_sync(scenario)()


@pytest.mark.parametrize("query", ["stream=user", "stream=user&access_token=nonsense",
                                   "stream=user&access_token=chorus_nonsense"])  # fmt: skip
def test_a_socket_without_a_live_token_is_refused(alice, query):
    async def scenario():
        _, connected = await socket(query)
        assert not connected

    async_to_sync(scenario)()


def test_an_app_without_read_scope_cannot_stream(alice):
    token = oauth_token(alice, scopes="write")

    async def scenario():
        _, connected = await socket(f"stream=user&access_token={token}")
        assert not connected

    async_to_sync(scenario)()


def test_revoking_the_oauth_token_closes_its_socket(alice):
    token = oauth_token(alice)

    async def scenario():
        communicator, connected = await socket(f"stream=user&access_token={token}")
        assert connected
        await database_sync_to_async(lambda: AccessToken.objects.get(user=alice).revoke())()
        assert (await communicator.receive_output(timeout=5))["type"] == "websocket.close"

    async_to_sync(scenario)()


def test_server_sent_events_carry_the_user_stream(alice):
    carol = followed(alice, "carol")
    token = issue_token(user=alice)

    async def scenario():
        response = await AsyncClient().get("/api/v1/streaming/user", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
        chunks = aiter(response.streaming_content)
        assert (await anext(chunks)).startswith(b":")  # joined: what is sent from now on arrives
        await store(carol, [Entry(guid="c1", content_html="<p>carol by SSE</p>")])
        event, data = (await anext(chunks)).decode().strip().split("\n")
        assert event == "event: update" and "carol by SSE" in json.loads(data.removeprefix("data: "))["content"]
        await chunks.aclose()

    async_to_sync(scenario)()


def test_server_sent_events_refuse_a_missing_token_and_answer_health(client):
    response = client.get("/api/v1/streaming/user")
    assert response.status_code == 401 and "access token" in response.json()["detail"]
    assert client.get("/api/v1/streaming/health").content == b"OK"
    assert client.get("/api/v1/streaming/hashtag", HTTP_AUTHORIZATION="Bearer x").status_code == 401
