"""Hostile characters in what sources send (HOSTILE.md 39): on PostgreSQL, through real polls of local servers.

A NUL in one item used to fail the whole batch's insert ("text fields cannot contain NUL"): no post stored and
the source retried forever as a transient error.
"""

import pytest
from django.utils import timezone

from aggregator.following import subscriptions
from aggregator.ingest.polling import poll_source
from aggregator.models import Post, Source, Subscription
from aggregator.networks import x
from aggregator.networks.x import budget
from timelines.models import TimelineEntry

from tests.servers.feeds import RSS
from tests.servers.xapi import TOKEN, XApi, XPost

pytestmark = pytest.mark.django_db

HOSTILE_FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Carol\x00s feed\x07</title>'
    b"<item><guid isPermaLink='false'>good-1</guid><title>first</title><description>one</description>"
    b"<pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item>"
    b"<item><guid isPermaLink='false'>bad\x00-2</guid><title>nul\x00 in\x1b the title\ttab</title>"
    b"<link>https://carol.example/posts/\x002</link>"
    b"<description>a nul&#0; and a bell\x07 in\nthe text</description>"
    b"<pubDate>Mon, 23 Nov 2026 10:01:00 GMT</pubDate></item>"
    b"<item><guid isPermaLink='false'>good-3</guid><title>third</title><description>three &#xD800;half a pair"
    b"</description><pubDate>Mon, 23 Nov 2026 10:02:00 GMT</pubDate></item>"
    b"</channel></rss>"
)


def test_control_characters_in_one_item_are_stripped_and_every_item_is_stored(httpserver, alice):
    httpserver.expect_request("/feed.xml").respond_with_data(HOSTILE_FEED, content_type=RSS)
    url = httpserver.url_for("/feed.xml")
    source = Source.objects.create(address=url, url=url, next_poll_at=timezone.now())
    Subscription.objects.create(user=alice, source=source)

    outcome = poll_source(source_id=source.pk)

    source.refresh_from_db()
    assert outcome.status == "stored", outcome.error
    assert source.status == Source.Status.OK and source.last_error == "" and source.title == "Carols feed"
    posts = {post.guid: post for post in Post.objects.filter(source=source)}
    assert sorted(posts) == ["bad-2", "good-1", "good-3"]
    hostile = posts["bad-2"]
    assert hostile.title == "nul in the title tab"
    assert hostile.url == "https://carol.example/posts/2"
    assert hostile.text == "a nul and a bell in the text"
    assert "\ufffd" in posts["good-3"].text  # a surrogate's reference no longer loses the feed
    assert TimelineEntry.objects.filter(user=alice).count() == 3
    assert poll_source(source_id=source.pk).stored.unchanged == 3  # the stripped item is the same post next time


@pytest.fixture
def xapi(httpserver, settings):
    for endpoint in (x.client.USERS, x.client.TWEETS):
        budget.forget(endpoint)
    api = XApi(httpserver)
    settings.X_BEARER_TOKEN = TOKEN
    settings.X_API_BASE = api.base
    yield api
    for endpoint in (x.client.USERS, x.client.TWEETS):
        budget.forget(endpoint)


def test_an_entry_that_cannot_be_stored_is_counted_and_the_rest_of_its_batch_is_stored(xapi, alice, committed,
                                                                                       caplog):  # fmt: skip
    carol = xapi.add("carol_c", id="1460000000000000001")
    carol.posts.append(XPost(101, "first"))
    with committed():
        subscriptions.subscribe(user=alice, address="https://x.com/carol_c")
    # JSON's "\ud800" is half of a UTF-16 pair: no UTF-8 encoding exists for it, so PostgreSQL cannot take it.
    carol.posts += [XPost(102, "second"), XPost(103, "half \ud800 a pair"), XPost(104, "nul \x00 fourth")]
    source = Source.objects.get()

    outcome = poll_source(source_id=source.pk)

    source.refresh_from_db()
    assert outcome.status == "stored" and outcome.stored.rejected == 1
    assert source.status == Source.Status.OK and source.poll_cursor == "104"
    assert sorted(Post.objects.values_list("text", flat=True)) == ["first", "nul fourth", "second"]
    assert "'103'" in caplog.text and "not stored" in caplog.text
