"""The production shape: a real Celery worker process, fed through Redis, ingests into PostgreSQL."""


import pytest
import redis
from django.conf import settings
from django.utils import timezone

from aggregator.celery import app as celery_app
from aggregator.models import Post, Source, Subscription
from timelines.selectors import timeline_for

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
