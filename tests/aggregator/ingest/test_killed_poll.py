"""A worker killed in the middle of a poll's ingest (HOSTILE.md 34): PostgreSQL drops the half-written transaction,
the source keeps the dead worker's lease until it runs out, and the next claim polls it again; every post is then
stored once and on each follower's timeline once."""

import os
import signal
import uuid
from datetime import timedelta

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from aggregator.celery import app as celery_app
from aggregator.ingest import scheduler
from aggregator.ingest.polling import poll_source
from aggregator.models import Post, Source, Subscription
from timelines.models import TimelineEntry
from timelines.selectors import unread_counts_for

from tests.servers.feeds import RSS, rss
from tests.servers.processes import production_env, require_production_services, start_worker, stop, wait_for

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]

ENTRIES = 3


def _backends_of(application_name: str) -> list[tuple[int, bool, bool]]:
    """The connections a process holds, each as (pid, waiting on a lock, its transaction has written posts)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.pid, coalesce(a.wait_event_type = 'Lock', false), EXISTS (SELECT 1 FROM pg_locks l "
            "WHERE l.pid = a.pid AND l.relation = %s::regclass AND l.mode = 'RowExclusiveLock' AND l.granted) "
            "FROM pg_stat_activity a WHERE a.application_name = %s",
            [Post._meta.db_table, application_name],
        )
        return cursor.fetchall()


def test_a_worker_killed_in_the_middle_of_an_ingest_loses_nothing_and_the_next_poll_duplicates_nothing(
    httpserver, alice, bob
):
    require_production_services()
    redis.Redis.from_url(settings.REDIS_URL).flushdb()  # the suite's own Redis database: no stale tasks
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(*[(f"p{n}", f"post {n}") for n in range(ENTRIES)]), content_type=RSS)
    url = httpserver.url_for("/feed.xml")
    source = Source.objects.create(address=url, url=url, next_poll_at=timezone.now())
    for person in (alice, bob):
        Subscription.objects.create(user=person, source=source)
        assert unread_counts_for(user=person) == {}  # kept from now on: a delta counted twice would show
    env = production_env()
    name = f"chorus-killed-{uuid.uuid4().hex[:8]}"
    worker = start_worker({**env, "DATABASE_URL": f"{env['DATABASE_URL']}?application_name={name}"})
    try:
        # The fan-out writes the timeline rows after the posts, in the same transaction: while another client
        # holds the timeline's table, the worker's ingest stops there, its posts written and not committed.
        with psycopg.connect(env["DATABASE_URL"]) as other_client:
            timeline = connection.ops.quote_name(TimelineEntry._meta.db_table)
            other_client.execute(f"LOCK TABLE {timeline} IN EXCLUSIVE MODE")
            celery_app.send_task("aggregator.tasks.schedule_due_polls")  # the worker claims the source and polls it
            waiting = wait_for(lambda: [wrote for _, on_lock, wrote in _backends_of(name) if on_lock], timeout=30,
                               what="the worker's ingest to wait for the timeline")  # fmt: skip
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            other_client.rollback()
        wait_for(lambda: not _backends_of(name), what="PostgreSQL to end the killed worker's connections")

        assert not Post.objects.filter(source=source).exists()
        assert not TimelineEntry.objects.filter(source_id=source.pk).exists()
        assert waiting == [True]  # killed in the middle: its transaction had written the posts
        source.refresh_from_db()
        assert source.lease_until > timezone.now() and source.last_fetch_at is None  # the dead worker's lease
        assert scheduler.claim_due_sources() == []  # nobody else polls it while the lease runs

        later = timezone.now() + scheduler.LEASE + timedelta(seconds=1)
        assert scheduler.claim_due_sources(now=later) == [source.pk]
        assert len(poll_source(source_id=source.pk).stored.created) == ENTRIES
        again = poll_source(source_id=source.pk)  # the dead worker's own message, redelivered later (acks_late)
        assert again.status == "stored" and again.stored.created == [] and again.stored.unchanged == ENTRIES

        posts = set(Post.objects.filter(source=source).values_list("id", flat=True))
        assert len(posts) == ENTRIES
        for person in (alice, bob):
            rows = list(TimelineEntry.objects.filter(user=person).values_list("post_id", flat=True))
            assert sorted(rows) == sorted(posts)
            assert unread_counts_for(user=person) == {source.pk: ENTRIES}
        source.refresh_from_db()
        assert source.status == Source.Status.OK and source.lease_until is None and source.last_error == ""
    finally:
        print(stop(worker)[-4000:])  # shown by pytest when the test failed
        redis.Redis.from_url(settings.REDIS_URL).flushdb()  # the dead worker's unacknowledged message
