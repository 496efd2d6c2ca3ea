"""The production shape: a real Celery worker process, fed through Redis, ingests into PostgreSQL."""

import hashlib
import hmac

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from aggregator.asgi import application
from aggregator.celery import app as celery_app
from aggregator.db import shared_redis
from aggregator.models import Post, Source, Subscription, WebSubSubscription
from timelines.selectors import timeline_for

from tests.servers.asgi_client import asgi_post
from tests.servers.feeds import RSS, rss
from tests.servers.processes import production_env, require_production_services, start_worker, stop, wait_for

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    """A real `celery worker` process on the test database, stopped after the test."""
    require_production_services()
    redis.Redis.from_url(settings.REDIS_URL).flushdb()  # the suite's own Redis database: no stale tasks
    process = start_worker(production_env())
    yield process
    print(stop(process)[-4000:])  # shown by pytest when the test failed


def test_a_real_worker_polls_a_due_feed_into_postgresql_and_the_timeline(worker, httpserver, alice):
    httpserver.expect_request("/feed.xml").respond_with_data(rss(("p1", "pushed through redis")), content_type=RSS)
    source = Source.objects.create(address=httpserver.url_for("/feed.xml"), url=httpserver.url_for("/feed.xml"),
                                   next_poll_at=timezone.now())  # fmt: skip
    Subscription.objects.create(user=alice, source=source)

    # What beat sends every few seconds: the worker claims the due source and polls it in another task.
    celery_app.send_task("aggregator.tasks.schedule_due_polls")

    def polled() -> bool:
        # The post commits first; the poll's bookkeeping (status, lease) is saved just after.
        return Source.objects.filter(pk=source.pk, status=Source.Status.OK, lease_until__isnull=True).exists()

    wait_for(polled, timeout=60, interval=0.2, what="the worker to finish polling the source")
    assert Post.objects.filter(source=source).count() == 1
    page = timeline_for(user=alice)
    assert [entry.post.title for entry in page.entries] == ["pushed through redis"]
    assert worker.poll() is None  # the worker is still running


def test_hubs_sharing_one_redis_database_each_take_only_their_own_work(httpserver, alice):
    """``CHORUS_REDIS_NAMESPACE``: a worker of hub "b" takes what is queued in its namespace and leaves another
    hub's queue alone (as it leaves that hub's cache keys and live-event channels)."""
    require_production_services()
    connection = redis.Redis.from_url(settings.REDIS_URL)
    connection.flushdb()
    process = start_worker({**production_env(), "CHORUS_REDIS_NAMESPACE": "hub-b"})
    try:
        httpserver.expect_request("/feed.xml").respond_with_data(rss(("p1", "for hub b")), content_type=RSS)
        source = Source.objects.create(address=httpserver.url_for("/feed.xml"), url=httpserver.url_for("/feed.xml"),
                                       next_poll_at=timezone.now())  # fmt: skip
        Subscription.objects.create(user=alice, source=source)
        celery_app.send_task("aggregator.tasks.schedule_due_polls")  # the queue of a hub without a namespace
        celery_app.send_task("aggregator.tasks.schedule_due_polls", queue="hub-b")
        wait_for(lambda: Post.objects.filter(source=source).exists(), timeout=60, interval=0.2,
                 what="hub b's worker to poll")  # fmt: skip
        assert connection.llen("celery") == 1  # the other hub's message is still waiting for its own worker
    finally:
        print(stop(process)[-4000:])


def test_fat_pings_posted_to_the_web_door_are_stored_once_by_a_real_worker(worker, alice, monkeypatch):
    """A hub's POSTs through the ASGI application (taken in front of Django), left waiting in Redis, stored by the
    worker's task; a second delivery of the same document stores nothing new."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)  # queued through Redis, as in production
    source = Source.objects.create(address="https://a.example/feed.xml", url="https://a.example/feed.xml")
    Subscription.objects.create(user=alice, source=source)
    row = WebSubSubscription.objects.create(source=source, hub_url="https://hub.example/", topic_url=source.url,
                                            callback_token="t0ken", secret="s3cret", mode="subscribe",
                                            state=WebSubSubscription.State.ACTIVE)  # fmt: skip
    bodies = [rss(("w1", "first pushed")), rss(("w1", "first pushed"), ("w2", "second pushed")),
              rss(("w1", "first pushed"), ("w2", "second pushed"))]  # fmt: skip
    for body in bodies:
        signature = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        status, _, answer = asgi_post(application, "/websub/t0ken/", chunks=[body],
                                      headers={"Content-Type": RSS, "X-Hub-Signature": signature})  # fmt: skip
        assert (status, answer) == (202, {"detail": "queued"})

    def stored() -> bool:
        return WebSubSubscription.objects.filter(pk=row.pk, deliveries=3).exists()

    wait_for(stored, timeout=60, interval=0.2, what="the worker to store the deliveries")
    assert sorted(Post.objects.filter(source=source).values_list("guid", flat=True)) == ["w1", "w2"]
    assert [entry.post.title for entry in timeline_for(user=alice).entries] == ["second pushed", "first pushed"]
    waiting = shared_redis.client()
    wait_for(lambda: not waiting.exists(shared_redis.key(f"chorus:websub:waiting:{row.pk}")), timeout=10,
             interval=0.1, what="the task to take what it stored off the waiting list (after its commit)")  # fmt: skip
    wait_for(lambda: not waiting.exists(shared_redis.key(f"chorus:websub:draining:{row.pk}")), timeout=10,
             interval=0.1, what="the task to lower its flag")  # fmt: skip
