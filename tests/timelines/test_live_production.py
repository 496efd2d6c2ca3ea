"""The live stream in the production shape: a real Celery worker polls a feed and publishes through Redis;
uvicorn, another process, carries the event to a WebSocket client (issue 4)."""

import asyncio
import json
import sys

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from accounts.tokens import issue_token
from aggregator.celery import app as celery_app
from aggregator.models import Post, Source, Subscription

from tests.servers.feeds import RSS, rss
from tests.servers.feedservers import RawServer, response_head, send
from tests.servers.processes import (
    free_port,
    production_env,
    require_production_services,
    spawn,
    start_worker,
    stop,
    wait_for_port,
)

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def web_and_worker():
    """`uvicorn aggregator.asgi:application` and `celery -A aggregator worker` on the test database and Redis."""
    require_production_services()
    redis.Redis.from_url(settings.REDIS_URL).flushdb()  # the suite's own Redis database: no stale tasks
    env = production_env()
    port = free_port()
    web = spawn([sys.executable, "-m", "uvicorn", "aggregator.asgi:application", "--host", "127.0.0.1", "--port",
                 str(port), "--log-level", "warning"], env=env)  # fmt: skip
    worker = start_worker(env)
    try:
        wait_for_port(port, timeout=60)
        yield f"ws://127.0.0.1:{port}/ws/stream/"
    finally:
        print("worker:", stop(worker)[-3000:])  # shown by pytest when the test failed
        print("web:", stop(web)[-3000:])


async def _stream(url: str, tokens: list[str], trigger, sentinel) -> list[list[dict]]:
    """Open one socket per token, run ``trigger`` (blocking, in a thread) until the first socket has a
    ``post.new``, then ``sentinel`` (blocking too): collect every socket's frames until each has the sentinel's
    ``post.new`` (titled "sentinel"). It went the same way after the trigger's events: whatever should not have
    come would have come before it."""
    from websockets.asyncio.client import connect

    sockets = [await connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10)
               for token in tokens]  # fmt: skip
    received: list[list[dict]] = [[] for _ in sockets]

    async def read(frames: list[dict], socket) -> None:
        async for raw in socket:
            frames.append(json.loads(raw))

    def has_post(frames: list[dict], title: str | None = None) -> bool:
        return any(frame["type"] == "post.new" and title in (None, frame["post"]["title"]) for frame in frames)

    async def until(condition, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not condition():
            assert loop.time() < deadline, f"timed out waiting for {what}: {received}"
            await asyncio.sleep(0.05)

    readers = [asyncio.create_task(read(frames, socket)) for frames, socket in zip(received, sockets, strict=True)]
    try:
        await asyncio.to_thread(trigger)
        await until(lambda: has_post(received[0]), "the first post")
        await asyncio.to_thread(sentinel)
        await until(lambda: all(has_post(frames, "sentinel") for frames in received), "the sentinel on every socket")
    finally:
        for reader in readers:
            reader.cancel()
        for socket in sockets:
            await socket.close()
    return received


def test_a_post_polled_by_the_worker_reaches_its_followers_socket_only(web_and_worker, alice, bob):
    feed = RawServer(send(response_head(content_type=RSS), rss(("live-1", "through the worker and redis"))))
    everyone = RawServer(send(response_head(content_type=RSS), rss(("live-2", "sentinel"))))
    try:
        source = Source.objects.create(address=feed.url("/feed.xml"), url=feed.url("/feed.xml"), next_poll_at=None)
        Subscription.objects.create(user=alice, source=source)
        # the sentinel: a feed both follow, polled by the same worker once the first post reached alice
        both = Source.objects.create(address=everyone.url("/feed.xml"), url=everyone.url("/feed.xml"), next_poll_at=None)
        for user in (alice, bob):
            Subscription.objects.create(user=user, source=both)
        alice_token, bob_token = issue_token(user=alice), issue_token(user=bob)

        def poll_through_the_worker(polled: Source) -> None:
            Source.objects.filter(pk=polled.pk).update(next_poll_at=timezone.now())
            celery_app.send_task("aggregator.tasks.schedule_due_polls")  # what beat sends

        alices, bobs = asyncio.run(_stream(web_and_worker, [alice_token, bob_token],
                                           lambda: poll_through_the_worker(source), lambda: poll_through_the_worker(both)))  # fmt: skip
    finally:
        feed.close()
        everyone.close()

    post = Post.objects.get(source=source)
    new = [frame for frame in alices if frame["type"] == "post.new"]
    assert [frame["post"]["id"] for frame in new[:-1]] == [post.pk] and new[-1]["post"]["title"] == "sentinel"
    assert new[0]["post"]["title"] == "through the worker and redis"
    assert new[0]["post"]["source"]["id"] == source.pk
    # bob follows only the sentinel's feed: not a frame before its post (its status may follow it)
    assert bobs[0]["type"] == "post.new" and bobs[0]["post"]["title"] == "sentinel"
