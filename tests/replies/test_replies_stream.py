"""Live: ``reply.new`` on /ws/stream/ for people a new post mentions, and no ``post.new``/``reply.new`` for what
a person blocked. One coroutine per test, as in test_stream.py."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.identities import identity_create
from accounts.tokens import issue_token
from aggregator.asgi import application
from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest
from aggregator.models import Source, Subscription
from timelines.blocks import block_create

from tests.timelines.test_stream import before_sentinel

pytestmark = pytest.mark.django_db(transaction=True)

store = database_sync_to_async(ingest)


async def connect(user) -> WebsocketCommunicator:
    headers = [(b"authorization", f"Bearer {await database_sync_to_async(issue_token)(user=user)}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/stream/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


def carol() -> Source:
    return Source.objects.create(address="https://carol.example/feed", url="https://carol.example/feed", title="carol")


def test_a_mention_reaches_the_person_live_though_she_does_not_follow_the_author(alice):
    identity_create(user=alice, kind="fediverse", value="alice@example.social", verified=True)
    source = carol()
    dave = Source.objects.create(address="https://dave.example/feed", url="https://dave.example/feed", title="dave")
    Subscription.objects.create(user=alice, source=dave)

    async def scenario():
        communicator = await connect(alice)
        await store(source, [Entry(guid="1", content_html="<p>hi @alice@example.social</p>", author_handle="@carol")])
        event = await communicator.receive_json_from(timeout=5)
        assert event["type"] == "reply.new" and event["reason"] == "mention" and event["cursor"]
        assert {"id", "url", "source", "author", "content_html", "text", "published", "in_reply_to"} <= event["post"].keys()
        assert await before_sentinel(communicator, dave) == []  # no post.new: she does not follow carol
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_blocked_posts_are_not_sent_live(alice, bob):
    source = carol()
    for person in (alice, bob):
        Subscription.objects.create(user=person, source=source)
    identity_create(user=alice, kind="x", value="alice", verified=True)
    block_create(user=alice, kind="author", value="@spammer")

    async def scenario():
        alices, bobs = await connect(alice), await connect(bob)
        await store(source, [Entry(guid="spam", content_html="<p>@alice buy</p>", author_handle="@Spammer"),
                             Entry(guid="ok", content_html="<p>fine</p>", author_handle="@carol")])  # fmt: skip
        event = await alices.receive_json_from(timeout=5)
        assert (event["type"], event["post"]["text"]) == ("post.new", "fine")
        assert await before_sentinel(alices, source) == []  # neither post.new nor reply.new for the spam
        texts = sorted([(await bobs.receive_json_from(timeout=5))["post"]["text"] for _ in range(2)])
        assert texts == ["@alice buy", "fine"]  # bob blocked nobody
        await alices.disconnect()
        await bobs.disconnect()

    async_to_sync(scenario)()
