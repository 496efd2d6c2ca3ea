"""ingest: sanitizing, dedupe and idempotent upsert (missing, shared or changing GUIDs, bad dates
and encodings, hostile links and markup, a push and a poll of one entry racing)."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest
from aggregator.models import Post, Source, Subscription
from aggregator.networks.rss.parse import parse
from timelines.models import TimelineEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def source():
    return Source.objects.create(address="https://carol.example.com/feed.xml", url="https://carol.example.com/feed.xml")


def entry(**fields) -> Entry:
    fields.setdefault("base_url", "https://carol.example.com/feed.xml")
    return Entry(**fields)


def test_the_same_entry_twice_is_one_post(source):
    first = ingest(source, [entry(guid="a", title="Hi", content_html="<p>hello</p>")])
    again = ingest(source, [entry(guid="a", title="Hi", content_html="<p>hello</p>")])
    assert len(first.created) == 1 and again.created == [] and again.unchanged == 1
    assert Post.objects.count() == 1


def test_a_changed_entry_updates_its_post_and_keeps_its_place(source):
    published = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    ingest(source, [entry(guid="a", title="Draft", content_html="v1", published=published)])
    result = ingest(source, [entry(guid="a", title="Final", content_html="v2", published=published + timedelta(days=1))])
    post = Post.objects.get()
    assert result.updated == [post.id]
    assert (post.title, post.content_html) == ("Final", "v2")
    assert post.published == published  # ordering stays stable when an entry is edited


def test_an_older_version_arriving_late_does_not_overwrite_a_newer_one(source):
    """Two workers storing an edit and its predecessor out of order (a push and its quick edit)."""
    edited = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    ingest(source, [entry(guid="a", title="Edited", content_html="v2", updated=edited)])
    late = ingest(source, [entry(guid="a", title="Original", content_html="v1", updated=edited - timedelta(minutes=5))])
    assert late.updated == [] and Post.objects.get().title == "Edited"
    newer = ingest(source, [entry(guid="a", title="Edited again", content_html="v3", updated=edited + timedelta(minutes=1))])
    assert len(newer.updated) == 1 and Post.objects.get().title == "Edited again"


def test_entries_without_guids_fall_back_to_their_link_then_to_their_content(source):
    batch = [entry(url="https://carol.example.com/1", content_html="one"), entry(title="no link", content_html="two")]
    ingest(source, batch)
    ingest(source, batch)
    guids = sorted(Post.objects.values_list("guid", flat=True))
    assert len(guids) == 2
    assert "https://carol.example.com/1" in guids and guids[0].startswith("hash:")


def test_one_guid_shared_by_every_item_loses_no_post(source):
    batch = [entry(guid="same", url=f"https://carol.example.com/{n}", content_html=f"post {n}") for n in range(3)]
    ingest(source, batch)
    ingest(source, batch)
    assert Post.objects.count() == 3


def test_guids_that_change_on_every_fetch_make_no_duplicates(source):
    for fetch_number in range(3):
        ingest(source, [
            entry(guid=f"random-{fetch_number}-a", url="https://carol.example.com/a", content_html="A"),
            entry(guid=f"random-{fetch_number}-b", title="linkless", content_html="B"),
        ])  # fmt: skip
    assert Post.objects.count() == 2


def test_a_feed_whose_only_item_later_gets_its_shared_guid_back_keeps_one_post(source):
    shared = [entry(guid="same", url=f"https://carol.example.com/{n}", content_html=f"post {n}") for n in range(2)]
    ingest(source, shared)
    ingest(source, shared[:1])  # now "same" is unique in the batch, but the post is already stored by link
    assert Post.objects.count() == 2


def test_missing_future_and_unparsable_dates_become_the_fetch_time_in_feed_order(source):
    fetched_at = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    ingest(source, [
        entry(guid="undated-newest"),
        entry(guid="future", published=fetched_at + timedelta(days=400)),
        entry(guid="undated-oldest"),
    ], fetched_at=fetched_at)  # fmt: skip
    posts = list(Post.objects.order_by("-published", "-id").values_list("guid", "published"))
    assert [guid for guid, _ in posts] == ["undated-newest", "future", "undated-oldest"]
    assert all(fetched_at - timedelta(seconds=1) < when <= fetched_at for _, when in posts)


@pytest.mark.parametrize(
    "html",
    [
        '<a href="javascript:alert(1)">x</a>',
        '<a href="jav&#x09;ascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="&#106;avascript:alert(1)">x</a>',
        '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
        '<form action="https://evil.example/"><input type="password" name="p"></form>',
        '<iframe src="https://evil.example/"></iframe>',
        '<object data="https://evil.example/x.swf"></object><embed src="x.swf">',
        '<img src="x" onerror="alert(1)"><p onclick="alert(1)">x</p>',
        '<p style="background:url(javascript:alert(1))">x</p><p style="width:expression(alert(1))">y</p>',
        '<img src="data:image/svg+xml;base64,PHN2Zz4=" srcset="data:image/png;base64,AAAA 2x">',
        "<script>alert(1)</script><style>body{}</style>",
    ],
)
def test_stored_content_never_carries_script(source, html):
    ingest(source, [entry(guid="x", content_html=html)])
    stored = Post.objects.get().content_html.lower()
    for needle in ("javascript", "<form", "<input", "<iframe", "<object", "<embed", "onerror", "onclick",
                   "style=", "expression", "data:", "<script", "<style", "<svg", "srcset"):  # fmt: skip
        assert needle not in stored


@pytest.mark.parametrize("field", ["url", "author_uri"])
def test_only_http_links_are_kept_in_post_fields(source, field):
    ingest(source, [entry(guid="x", **{field: "javascript:alert(document.cookie)"})])
    assert getattr(Post.objects.get(), field) == ""


@pytest.mark.parametrize("guid", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "jav&#x09;ascript:alert(1)"])
def test_a_permalink_guid_that_is_a_script_address_is_never_the_posts_link(source, guid):
    """RSS makes an item's ``<guid isPermaLink="true">`` its link when it has no ``<link>``: the guid stays its
    identity (the next fetch finds the same post), never its link."""
    body = ('<?xml version="1.0"?><rss version="2.0"><channel><title>carol</title><item>'
            f'<guid isPermaLink="true">{guid}</guid><title>No link</title><description>hi</description>'
            "</item></channel></rss>").encode()  # fmt: skip
    for _ in range(2):
        ingest(source, parse(body, base_url=source.url).entries)
    post = Post.objects.get()
    assert post.title == "No link" and post.url == ""


def test_html_in_titles_and_author_names_is_text(source):
    ingest(source, [entry(guid="x", title="<b>Bold</b> <script>alert(1)</script>claim",
                                 author_name='<img src=x onerror="alert(1)">Eve')])  # fmt: skip
    post = Post.objects.get()
    assert post.title == "Bold claim"
    assert post.author_name == "Eve"


def test_relative_urls_resolve_against_the_feed_never_against_chorus(source):
    ingest(source, [entry(guid="x", content_html='<img src="/accounts/logout/"><a href="posts/2">next</a>')])
    stored = Post.objects.get().content_html
    assert 'src="https://carol.example.com/accounts/logout/"' in stored
    assert 'href="https://carol.example.com/posts/2"' in stored


def test_relative_urls_without_a_base_are_dropped(source):
    ingest(source, [entry(guid="x", base_url="", content_html='<img src="/accounts/logout/"><a href="/x">x</a>')])
    stored = Post.objects.get().content_html
    assert "/accounts/logout/" not in stored and 'href="/x"' not in stored


def test_new_posts_reach_every_subscriber_once(source, alice, bob):
    Subscription.objects.create(user=alice, source=source)
    Subscription.objects.create(user=bob, source=source)
    ingest(source, [entry(guid="a"), entry(guid="b")])
    ingest(source, [entry(guid="a"), entry(guid="b")])
    assert TimelineEntry.objects.filter(user=alice).count() == 2
    assert TimelineEntry.objects.filter(user=bob).count() == 2


def test_timeline_rows_go_with_the_person_or_the_source_deleted(source, alice, bob):
    """The database checks no foreign key on timeline rows (the fan-out writes one per follower): a person or a
    source deleted through Django still takes their rows along, and nobody else's."""
    other = Source.objects.create(address="https://dave.example.com/feed.xml", url="https://dave.example.com/feed.xml")
    for person, followed in [(alice, source), (bob, source), (bob, other)]:
        Subscription.objects.create(user=person, source=followed)
    ingest(source, [entry(guid="a"), entry(guid="b")])
    ingest(other, [entry(guid="c", base_url="https://dave.example.com/feed.xml")])
    alice.delete()
    assert sorted(TimelineEntry.objects.values_list("user_id", "post__guid")) == [(bob.pk, "a"), (bob.pk, "b"),
                                                                                  (bob.pk, "c")]  # fmt: skip
    source.delete()
    assert list(TimelineEntry.objects.values_list("user_id", "post__guid")) == [(bob.pk, "c")]


def test_a_retracted_post_never_comes_back(source, alice):
    Subscription.objects.create(user=alice, source=source)
    ingest(source, [entry(guid="a", content_html="v1")])
    Post.objects.filter(guid="a").update(retracted_at=timezone.now())
    TimelineEntry.objects.all().delete()
    result = ingest(source, [entry(guid="a", content_html="v2")])
    assert result.tombstoned == 1 and not TimelineEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_post_by_push_and_poll_at_the_same_moment_is_one_row(source):
    """Two threads store the same entries concurrently (a push and a poll of one entry racing): the row lock
    serializes them."""
    if connection.vendor == "sqlite":
        pytest.skip("needs a database with row locks and concurrent connections")
    barrier = threading.Barrier(2)
    errors = []

    def ingest_at_once():
        try:
            barrier.wait()
            ingest(Source.objects.get(pk=source.pk), [entry(guid=f"g{n}", content_html=str(n)) for n in range(50)])
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest_at_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Post.objects.filter(source=source).count() == 50
