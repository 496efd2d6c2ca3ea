"""Retention: old read, unstarred posts leave (with their rows and index entries); starred, unread and recent
ones stay; the emptied row keeps a feed from bringing the post back."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Q

from aggregator import jobs
from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest
from aggregator.models import Post, Source
from timelines.models import SearchEntry, TimelineEntry
from timelines.retention import prune_history
from timelines.search.selectors import search_for

from tests.timelines import search_table

pytestmark = pytest.mark.django_db
NOW = search_table.DAY + timedelta(days=400)


@pytest.fixture
def alice(db):
    return search_table.seed()  # read: k1 k2 r1 r3; starred: k3 r1


def guids(**filters) -> set[str]:
    return set(Post.objects.filter(**filters).values_list("guid", flat=True))


def test_only_old_read_unstarred_posts_go(alice, settings):
    settings.CHORUS_RETENTION_BATCH = 1  # several batches
    recent = Source.objects.get(title="Rivers")
    ingest(recent, [Entry(guid="r9", title="fresh", content_html="<p>cafe</p>", published=NOW - timedelta(days=2))])
    TimelineEntry.objects.filter(post__guid="r9").update(is_read=True)
    assert prune_history(now=NOW, keep_days=365) == 3  # k1 k2 r3: read, not starred, old; bob's b1 is unread
    assert guids(retracted_at__isnull=False) == {"k1", "k2", "r3"}
    assert guids(retracted_at__isnull=True) == {"k3", "k4", "r1", "r2", "r9", "b1"}
    assert not TimelineEntry.objects.filter(Q(post__guid__in=["k1", "k2", "r3"])).exists()
    assert not SearchEntry.objects.filter(post__guid__in=["k1", "k2", "r3"]).exists()
    assert [r.post.guid for r in search_for(user=alice, q="cafe").results] == ["r9", "r2"]
    assert prune_history(now=NOW, keep_days=365) == 0


def test_keep_days_zero_keeps_everything(alice):
    assert prune_history(now=NOW, keep_days=0) == 0 and not guids(retracted_at__isnull=False)


def test_a_pruned_post_does_not_come_back_from_its_feed(alice):
    prune_history(now=NOW, keep_days=365)
    kitchen = Source.objects.get(title="Kitchen notes")
    result = ingest(kitchen, [Entry(guid="k1", title="Café crème at dawn", content_html="<p>again</p>",
                                    published=datetime(2026, 3, 1, 12, tzinfo=UTC))])  # fmt: skip
    assert result.created == [] and not TimelineEntry.objects.filter(post__guid="k1").exists()


def test_the_beat_task_runs_it_by_name(alice, settings):
    settings.CHORUS_KEEP_READ_DAYS = 1
    jobs.enqueue("aggregator.tasks.prune_history")  # eager in tests
    assert guids(retracted_at__isnull=False) == {"k1", "k2", "r3"}
    assert settings.CELERY_BEAT_SCHEDULE["prune-history"]["task"] == "aggregator.tasks.prune_history"


def test_the_source_page_says_what_is_kept(client, alice, settings):
    client.force_login(alice)
    source = Source.objects.get(title="Rivers")
    assert "published over 365 days ago are removed" in client.get(f"/sources/{source.pk}/").content.decode()
    settings.CHORUS_KEEP_READ_DAYS = 0
    assert "every post, for good" in client.get(f"/sources/{source.pk}/").content.decode()
