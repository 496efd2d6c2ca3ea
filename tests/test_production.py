"""The production shape: a real Celery worker process, fed through Redis, ingests into PostgreSQL."""

import os
import subprocess
import sys
import time

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from aggregator.celery import app as celery_app
from aggregator.models import Post, Source, Subscription
from timelines.selectors import timeline_for

from .feeds import RSS, rss
from .processes import ROOT, stop

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]


def _require_services() -> None:
    missing = []
    if connection.vendor != "postgresql":
        missing.append("PostgreSQL (DATABASE_URL)")
    if not settings.REDIS_URL:
        missing.append("Redis (REDIS_URL)")
    else:
        try:
            redis.Redis.from_url(settings.REDIS_URL).ping()
        except redis.RedisError:
            missing.append(f"Redis at {settings.REDIS_URL}")
    if missing:
        message = "the production-shape test needs " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker():
    """A real `celery worker` process on the test database, stopped after the test."""
    _require_services()
    redis.Redis.from_url(settings.REDIS_URL).flushdb()  # the suite's own Redis database: no stale tasks
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL,
           "CHORUS_FETCH_ALLOW_PRIVATE": "true", "DB_CONN_MAX_AGE": "0"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "aggregator", "worker", "--pool=threads", "--concurrency=2",
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    yield process
    print(stop(process)[-4000:])  # shown by pytest when the test failed


def _wait_for(predicate, *, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


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

    assert _wait_for(polled), "the worker did not finish polling the source"
    assert Post.objects.filter(source=source).count() == 1
    page = timeline_for(user=alice)
    assert [entry.post.title for entry in page.entries] == ["pushed through redis"]
    assert worker.poll() is None  # the worker is still running
