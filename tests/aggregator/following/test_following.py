"""Following: feed discovery, one Source per canonical address, tags, unfollowing."""

import pytest

from aggregator.fetch import BlockedURL
from aggregator.following import subscriptions
from aggregator.models import Source, Subscription
from aggregator.networks.rss.discover import DiscoveryError, alternate_links, discover_feed
from timelines.models import TimelineEntry

from tests.servers.feeds import ATOM, RSS, feed_file, rss

pytestmark = pytest.mark.django_db

PAGE = b"""<!doctype html><html><head><title>Carol</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="Posts" href="/feed.xml">
<link rel="alternate" type="application/atom+xml" href="https://elsewhere.example/atom">
</head><body>hi</body></html>"""


def test_a_page_advertises_its_feeds_in_document_order():
    assert alternate_links(PAGE, base_url="https://carol.example.com/blog/") == [
        "https://carol.example.com/feed.xml",
        "https://elsewhere.example/atom",
    ]


def test_a_site_url_leads_to_the_feed_it_links(httpserver):
    httpserver.expect_request("/").respond_with_data(PAGE, content_type="text/html")
    httpserver.expect_request("/feed.xml").respond_with_data(feed_file("rss20.xml"), content_type=RSS)
    found = discover_feed(httpserver.url_for("/"))
    assert found.url == httpserver.url_for("/feed.xml") and found.title == "Carol's microblog"


def test_a_site_without_links_is_searched_at_common_feed_paths(httpserver):
    httpserver.expect_request("/").respond_with_data("<html><head></head></html>", content_type="text/html")
    httpserver.expect_request("/atom.xml").respond_with_data(feed_file("atom.xml"), content_type=ATOM)
    assert discover_feed(httpserver.url_for("/")).url == httpserver.url_for("/atom.xml")


def test_a_feed_url_is_taken_as_is(httpserver):
    httpserver.expect_request("/rss10.rdf").respond_with_data(feed_file("rss10.rdf"), content_type="application/rdf+xml")
    assert discover_feed(httpserver.url_for("/rss10.rdf")).url == httpserver.url_for("/rss10.rdf")


def test_an_address_without_a_feed_says_what_was_expected(httpserver):
    httpserver.expect_request("/").respond_with_data("<html>nothing</html>", content_type="text/html")
    with pytest.raises(DiscoveryError, match="no RSS or Atom feed found"):
        discover_feed(httpserver.url_for("/"))


def test_an_internal_address_is_refused_with_a_clear_message(settings):
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    with pytest.raises(BlockedURL):
        discover_feed("http://127.0.0.1:9/feed")


def test_two_people_following_one_feed_share_one_source(httpserver, alice, bob, committed):
    httpserver.expect_request("/feed.xml").respond_with_data(rss(("a", "one")), content_type=RSS)
    url = httpserver.url_for("/feed.xml")
    with committed():
        subscriptions.subscribe(user=alice, address=url)
    subscriptions.subscribe(user=bob, address=url.replace("http://localhost", "HTTP://LOCALHOST") + "#top")
    assert Source.objects.count() == 1 and Subscription.objects.count() == 2
    assert TimelineEntry.objects.filter(user=bob).count() == 1  # the existing post was backfilled for bob


def test_following_a_new_feed_fetches_it_at_once(httpserver, alice, committed):
    httpserver.expect_request("/feed.xml").respond_with_data(rss(("a", "one"), ("b", "two")), content_type=RSS)
    with committed():
        subscriptions.subscribe(user=alice, address=httpserver.url_for("/feed.xml"))
    assert TimelineEntry.objects.filter(user=alice).count() == 2
    assert Source.objects.get().status == Source.Status.OK


def test_subscriptions_carry_any_number_of_tags(httpserver, alice):
    httpserver.expect_request("/feed.xml").respond_with_data(rss(("a", "one")), content_type=RSS)
    subscription = subscriptions.subscribe(user=alice, address=httpserver.url_for("/feed.xml"),
                                           tags=["friends", " Friends ", "xmpp", ""])  # fmt: skip
    assert sorted(subscription.tags.values_list("name", flat=True)) == ["friends", "xmpp"]
    subscriptions.update_subscription(user=alice, subscription_id=subscription.pk, tags=["news"])
    assert list(subscription.tags.values_list("name", flat=True)) == ["news"]


def test_unfollowing_removes_the_posts_and_stops_polling_an_orphaned_source(httpserver, alice):
    httpserver.expect_request("/feed.xml").respond_with_data(rss(("a", "one")), content_type=RSS)
    subscription = subscriptions.subscribe(user=alice, address=httpserver.url_for("/feed.xml"))
    subscriptions.unsubscribe(user=alice, subscription_id=subscription.pk)
    assert not TimelineEntry.objects.filter(user=alice).exists()
    assert Source.objects.get().next_poll_at is None


def test_nobody_can_unfollow_for_someone_else(httpserver, alice, bob):
    httpserver.expect_request("/feed.xml").respond_with_data(rss(("a", "one")), content_type=RSS)
    subscription = subscriptions.subscribe(user=alice, address=httpserver.url_for("/feed.xml"))
    with pytest.raises(subscriptions.SubscriptionError):
        subscriptions.unsubscribe(user=bob, subscription_id=subscription.pk)
    assert Subscription.objects.filter(pk=subscription.pk).exists()
