"""A new track shows at once the stored posts it matches (from the search index), then matches live."""

from datetime import UTC, datetime, timedelta

import pytest

from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest
from aggregator.models import Source
from tracks.selectors import matches_for, unread_matches_count
from tracks.services import track_create

pytestmark = pytest.mark.django_db
WHEN = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
def nobodys_source():
    source = Source.objects.create(address="https://far.example/feed", url="https://far.example/feed", title="Far")
    ingest(source, [
        Entry(guid="1", title="Rust and #python", content_html="<p>snakes</p>", published=WHEN),
        Entry(guid="2", title="pythonic ways", content_html="<p>not the word</p>", published=WHEN + timedelta(hours=1)),
        Entry(guid="3", title="Python 3.14", content_html="<p>release</p>", published=WHEN + timedelta(hours=2)),
        Entry(guid="4", title="snake pit", content_html="<p>a python</p>", published=WHEN + timedelta(hours=3)),
    ])  # fmt: skip
    return source


def guids(page) -> list[str]:
    return [match.post.guid for match in page.matches]


def test_a_new_track_shows_the_stored_posts_it_matches_as_read_history(alice, nobodys_source):
    track = track_create(user=alice, query="python")
    assert guids(matches_for(user=alice, track_id=track.pk)) == ["4", "3", "1"]  # whole words: not "pythonic"
    assert unread_matches_count(user=alice) == 0
    ingest(nobodys_source, [Entry(guid="5", title="python again", published=WHEN + timedelta(hours=4))])
    assert guids(matches_for(user=alice, track_id=track.pk)) == ["5", "4", "3", "1"]
    assert unread_matches_count(user=alice) == 1


def test_a_tag_or_phrase_track_keeps_its_own_rules(alice, nobodys_source):
    assert guids(matches_for(user=alice, track_id=track_create(user=alice, query="#python").pk)) == ["1"]
    assert guids(matches_for(user=alice, track_id=track_create(user=alice, query='"a python"').pk)) == ["4"]
    assert guids(matches_for(user=alice)) == ["4", "1"]  # each post once in the river of all tracks


def test_a_search_is_saved_as_a_track_in_one_click(client, alice, nobodys_source):
    client.force_login(alice)
    assert "Save as a track" in client.get("/search/", {"q": "snakes"}).content.decode()
    response = client.post("/tracks/", {"query": "snakes"})
    assert response.status_code == 302
    assert guids(matches_for(user=alice)) == ["1"]
