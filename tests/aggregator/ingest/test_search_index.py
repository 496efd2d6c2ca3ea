"""The ingest pipeline keeps the search index: new posts, changed posts, retractions; the command fills it for
posts stored before it."""

from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest, retract
from aggregator.models import Source, Subscription
from timelines.models import SearchEntry
from timelines.search.selectors import search_for

pytestmark = pytest.mark.django_db
WHEN = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
def source(alice):
    made = Source.objects.create(address="https://blog.example/feed", url="https://blog.example/feed", title="Blog")
    Subscription.objects.create(user=alice, source=made)
    return made


def found(user, q: str) -> list[str]:
    return [r.post.guid for r in search_for(user=user, q=q).results]


def test_a_new_post_is_found_at_once(alice, source):
    ingest(source, [Entry(guid="a", title="Orchids", content_html="<p>in bloom</p>", published=WHEN)])
    assert found(alice, "orchid") == [] and found(alice, "orchids bloom") == ["a"]


def test_a_changed_post_is_found_by_its_new_words_only(alice, source):
    ingest(source, [Entry(guid="a", title="Orchids", content_html="<p>in bloom</p>", published=WHEN)])
    ingest(source, [Entry(guid="a", title="Tulips", content_html="<p>in bloom</p>", published=WHEN)])
    assert found(alice, "orchids") == [] and found(alice, "tulips") == ["a"]


def test_a_retraction_leaves_the_index(alice, source):
    ingest(source, [Entry(guid="a", title="Orchids", published=WHEN), Entry(guid="b", title="Orchids too",
                                                                              published=WHEN)])  # fmt: skip
    retract(source, ["a"])
    assert found(alice, "orchids") == ["b"] and SearchEntry.objects.count() == 1


def test_the_command_indexes_posts_stored_before_the_index(alice, source):
    ingest(source, [Entry(guid="a", title="Orchids", published=WHEN)])
    SearchEntry.objects.all().delete()
    assert found(alice, "orchids") == []
    call_command("reindex_search")
    assert found(alice, "orchids") == ["a"]
