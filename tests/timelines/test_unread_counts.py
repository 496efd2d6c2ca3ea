"""The sidebar's unread counts are kept in the cache between page loads (timelines/unread_cache.py), and every
write that changes a person's unread rows counts them again: new posts, reading, marking all read, following,
unfollowing, a retracted post."""

import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aggregator.content.entry import Entry
from aggregator.following.subscriptions import follow_source, unsubscribe
from aggregator.ingest.pipeline import ingest, retract
from aggregator.models import Source, Subscription
from timelines import unread_cache
from timelines.models import TimelineEntry

from tests.timelines.test_pages import follow

pytestmark = pytest.mark.django_db


def shown_counts(client) -> tuple[str, dict[str, str]]:
    """The total and the per-source counts the timeline page shows ("" when none)."""
    html = client.get("/").content.decode()
    total = re.search(r'<span class="count" data-count-total>([^<]*)</span>', html).group(1)
    return total, dict(re.findall(r'<span class="count" data-count-source="(\d+)">([^<]*)</span>', html))


def counting_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    return [q["sql"] for q in queries.captured_queries if "GROUP BY" in q["sql"] and "timelineentry" in q["sql"]]


def test_a_reload_with_nothing_new_does_not_count_again(client, alice):
    follow(alice, "carol", 3)
    client.force_login(alice)
    assert len(counting_queries(client)) == 1
    assert counting_queries(client) == []
    assert shown_counts(client)[0] == "3"


def test_new_posts_and_reading_count_again(client, alice):
    carol = follow(alice, "carol", 3)
    client.force_login(alice)
    assert shown_counts(client) == ("3", {str(carol.pk): "3"})
    ingest(carol, [Entry(guid="new", title="arrived later", published=datetime(2026, 12, 1, tzinfo=UTC))])
    assert shown_counts(client) == ("4", {str(carol.pk): "4"})
    post_id = TimelineEntry.objects.filter(user=alice).order_by("-published").first().post_id
    client.post("/read/", {"post_id": post_id, "read": "1", "next": "/"})
    assert shown_counts(client) == ("3", {str(carol.pk): "3"})
    client.post("/read/", {"post_id": post_id, "read": "0", "next": "/"})
    assert shown_counts(client) == ("4", {str(carol.pk): "4"})
    html = client.get("/").content.decode()
    up_to = re.search(r'name="up_to" value="([^"]+)"', html).group(1)
    client.post("/read/all/", {"up_to": up_to, "next": "/"})
    assert shown_counts(client) == ("", {str(carol.pk): ""})


def test_following_unfollowing_and_retractions_count_again(client, alice, bob):
    carol = follow(alice, "carol", 2)
    client.force_login(alice)
    assert shown_counts(client)[0] == "2"
    dave = follow(bob, "dave", 3)
    follow_source(user=alice, source=dave)  # backfill: dave's posts come onto alice's timeline
    assert shown_counts(client) == ("5", {str(carol.pk): "2", str(dave.pk): "3"})
    unsubscribe(user=alice, subscription_id=Subscription.objects.get(user=alice, source=dave).pk)
    assert shown_counts(client) == ("2", {str(carol.pk): "2"})
    retract(carol, ["carol-1"])
    assert shown_counts(client) == ("1", {str(carol.pk): "1"})


def test_a_count_made_before_a_write_is_not_kept_after_it(alice):
    source = Source.objects.create(address="https://erin.example/feed", url="https://erin.example/feed")
    made = unread_cache.counts(user_id=alice.pk, count=lambda: {source.pk: 1})
    unread_cache.changed(user_ids=[alice.pk])
    assert made == {source.pk: 1}
    assert unread_cache.counts(user_id=alice.pk, count=lambda: {source.pk: 2}) == {source.pk: 2}
    assert unread_cache.counts(user_id=alice.pk, count=lambda: {source.pk: 3}) == {source.pk: 2}
