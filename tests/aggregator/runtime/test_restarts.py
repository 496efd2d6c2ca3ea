"""PostgreSQL or Redis restarted under a running worker -> it reconnects and carries on.

The worker reaches the machine's PostgreSQL and Redis through ``OutageProxy``s; an outage cuts every open
connection and refuses new ones for a few seconds, which is what the worker sees of a restart."""

from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from werkzeug import Response

from aggregator.celery import app as celery_app
from aggregator.models import Post, Source, Subscription

from tests.servers.feeds import RSS, rss
from tests.servers.outage_proxy import OutageProxy
from tests.servers.processes import production_env, require_production_services, start_worker, stop, wait_for

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]


def _through(url: str, proxy: OutageProxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@pytest.fixture
def proxied_worker():
    """A real worker whose PostgreSQL and Redis connections go through outage proxies; production settings
    (persistent database connections with health checks, not the suite's DB_CONN_MAX_AGE=0)."""
    require_production_services()
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    postgres = OutageProxy(int(connection.settings_dict["PORT"] or 5432)).start()
    broker = OutageProxy(urlsplit(settings.REDIS_URL).port or 6379).start()
    env = production_env()
    env.pop("DB_CONN_MAX_AGE")
    env.update(DATABASE_URL=_through(env["DATABASE_URL"], postgres), REDIS_URL=_through(env["REDIS_URL"], broker))
    worker = start_worker(env)
    try:
        yield worker, postgres, broker
    finally:
        print(stop(worker)[-6000:])  # shown when the test failed
        postgres.stop()
        broker.stop()


def _poll_now(source: Source) -> None:
    """What beat does every few seconds: mark the source due and ask a worker to claim what is due."""
    Source.objects.filter(pk=source.pk).update(next_poll_at=timezone.now())
    celery_app.send_task("aggregator.tasks.schedule_due_polls")


def _polled(source: Source) -> bool:
    # The post commits first; the poll's bookkeeping (status, lease) is saved just after.
    return Source.objects.filter(pk=source.pk, status=Source.Status.OK, lease_until__isnull=True).exists()


def test_the_worker_carries_on_after_postgresql_and_redis_restart(proxied_worker, alice, httpserver):
    worker, postgres, broker = proxied_worker
    items = [("p1", "before the restart")]
    httpserver.expect_request("/feed.xml").respond_with_handler(
        lambda request: Response(rss(*items), content_type=RSS))
    source = Source.objects.create(address=httpserver.url_for("/feed.xml"), url=httpserver.url_for("/feed.xml"))
    Subscription.objects.create(user=alice, source=source)
    _poll_now(source)
    wait_for(lambda: _polled(source), timeout=60, what="the first poll")
    connected = (postgres.connections, broker.connections)

    with postgres.outage(3), broker.outage(3):
        items.insert(0, ("p2", "after the restart"))

    _poll_now(source)
    wait_for(lambda: Post.objects.filter(source=source, guid="p2").exists() and _polled(source), timeout=90,
             what="a poll after the restart")  # fmt: skip
    assert worker.poll() is None, "the worker died instead of reconnecting"
    assert postgres.connections > connected[0] and broker.connections > connected[1]  # it came back
    assert Post.objects.filter(source=source).count() == 2
    assert Source.objects.get(pk=source.pk).status == Source.Status.OK
