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


async def _stream(url: str, tokens: list[str], trigger) -> list[list[dict]]:
    """Open one socket per token, run ``trigger`` (blocking, in a thread), and collect every socket's frames
    until the first one has a ``post.new``, and one second more for anything that should not come."""
    from websockets.asyncio.client import connect

    sockets = [await connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10)
               for token in tokens]  # fmt: skip
    received: list[list[dict]] = [[] for _ in sockets]

    async def read(frames: list[dict], socket) -> None:
        async for raw in socket:
            frames.append(json.loads(raw))

    readers = [asyncio.create_task(read(frames, socket)) for frames, socket in zip(received, sockets, strict=True)]
    try:
        await asyncio.to_thread(trigger)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while loop.time() < deadline and not any(frame["type"] == "post.new" for frame in received[0]):
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
    finally:
        for reader in readers:
            reader.cancel()
        for socket in sockets:
            await socket.close()
    return received


def test_a_post_polled_by_the_worker_reaches_its_followers_socket_only(web_and_worker, alice, bob):
    feed = RawServer(send(response_head(content_type=RSS), rss(("live-1", "through the worker and redis"))))
    try:
        source = Source.objects.create(address=feed.url("/feed.xml"), url=feed.url("/feed.xml"), next_poll_at=None)
        Subscription.objects.create(user=alice, source=source)
        alice_token, bob_token = issue_token(user=alice), issue_token(user=bob)

        def poll_through_the_worker() -> None:
            Source.objects.filter(pk=source.pk).update(next_poll_at=timezone.now())
            celery_app.send_task("aggregator.tasks.schedule_due_polls")  # what beat sends

        alices, bobs = asyncio.run(_stream(web_and_worker, [alice_token, bob_token], poll_through_the_worker))
    finally:
        feed.close()

    post = Post.objects.get(source=source)
    new = [frame for frame in alices if frame["type"] == "post.new"]
    assert [frame["post"]["id"] for frame in new] == [post.pk]
    assert new[0]["post"]["title"] == "through the worker and redis"
    assert new[0]["post"]["source"]["id"] == source.pk
    assert bobs == []  # bob follows nothing: not a frame
