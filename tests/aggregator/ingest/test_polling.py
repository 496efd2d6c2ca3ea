"""Polling a source against a local HTTP server: status codes, conditional GET, redirects (loops, long chains, moves
into the private network), bad dates, one failing source among others, scheduling."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from werkzeug import Response

from aggregator.ingest import scheduler
from aggregator.ingest.polling import poll_source
from aggregator.models import Post, Source, Subscription
from aggregator.tasks import schedule_due_polls
from timelines.models import TimelineEntry
from timelines.selectors import timeline_for

from tests.servers.feeds import ATOM, RSS, atom, conditional, feed_file, rss
from tests.servers.feedservers import response_head, send

pytestmark = pytest.mark.django_db


def make_source(url: str, **fields) -> Source:
    fields.setdefault("next_poll_at", timezone.now())
    return Source.objects.create(address=url, url=url, **fields)


def requests_to(httpserver, path: str) -> list:
    return [request for request, _ in httpserver.log if request.path == path]


def test_a_poll_stores_posts_and_puts_them_on_the_subscribers_timeline(httpserver, alice):
    httpserver.expect_request("/feed.xml").respond_with_data(feed_file("rss20.xml"), content_type=RSS)
    source = make_source(httpserver.url_for("/feed.xml"))
    Subscription.objects.create(user=alice, source=source)
    outcome = poll_source(source_id=source.pk)
    source.refresh_from_db()
    assert outcome.status == "stored" and len(outcome.stored.created) == 3
    assert source.status == Source.Status.OK and source.title == "Carol's microblog"
    assert source.last_fetch_at and source.next_poll_at > timezone.now() and source.lease_until is None
    assert TimelineEntry.objects.filter(user=alice).count() == 3


def test_a_tombstone_in_the_feed_takes_the_post_off_every_timeline_and_keeps_it_off(httpserver, alice, bob):
    kept, gone = "https://a.example/posts/kept", "https://a.example/posts/gone"
    bodies = iter([atom(gone, kept), atom(kept, deleted=(gone,)), atom(gone, kept)])
    httpserver.expect_request("/feed.xml").respond_with_handler(
        lambda request: Response(next(bodies), content_type=ATOM))
    source = make_source(httpserver.url_for("/feed.xml"))
    for person in (alice, bob):
        Subscription.objects.create(user=person, source=source)
    poll_source(source_id=source.pk)
    assert TimelineEntry.objects.filter(post__guid=gone).count() == 2
    poll_source(source_id=source.pk)
    assert Post.objects.get(guid=gone).retracted_at is not None and Post.objects.get(guid=kept).retracted_at is None
    assert not TimelineEntry.objects.filter(post__guid=gone).exists()
    assert TimelineEntry.objects.filter(post__guid=kept).count() == 2
    poll_source(source_id=source.pk)  # a stale copy of the feed (a cache) lists it again: it stays deleted
    assert not TimelineEntry.objects.filter(post__guid=gone).exists()


def test_an_unchanged_feed_answers_304_and_nothing_is_parsed(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_handler(conditional(rss(("a", "one")), etag='"v1"'))
    source = make_source(httpserver.url_for("/feed.xml"))
    assert poll_source(source_id=source.pk).status == "stored"
    source.refresh_from_db()
    assert source.etag == '"v1"'
    assert poll_source(source_id=source.pk).status == "not_modified"
    request, _ = httpserver.log[-1]
    assert request.headers["If-None-Match"] == '"v1"'
    assert Post.objects.count() == 1


def test_last_modified_is_sent_back_as_if_modified_since(httpserver):
    stamp = "Mon, 23 Nov 2026 10:00:00 GMT"
    httpserver.expect_request("/feed.xml").respond_with_data(rss(("a", "one")), content_type=RSS, headers={"Last-Modified": stamp})
    source = make_source(httpserver.url_for("/feed.xml"))
    poll_source(source_id=source.pk)
    poll_source(source_id=source.pk)
    request, _ = httpserver.log[-1]
    assert request.headers["If-Modified-Since"] == stamp


@pytest.mark.parametrize(("status", "permanent"), [(404, True), (500, False), (502, False)])
def test_errors_are_recorded_and_backed_off(httpserver, status, permanent):
    httpserver.expect_request("/feed.xml").respond_with_data("nope", status=status)
    source = make_source(httpserver.url_for("/feed.xml"))
    before = timezone.now()
    assert poll_source(source_id=source.pk).status == "error"
    source.refresh_from_db()
    assert source.status == Source.Status.ERROR and source.error_count == 1
    assert str(status) in source.last_error
    assert ("permanent" in source.last_error) == permanent
    delay = source.next_poll_at - before
    assert delay >= (timedelta(minutes=50) if permanent else timedelta(minutes=4))
    poll_source(source_id=source.pk)
    source.refresh_from_db()
    assert source.error_count == 2 and source.next_poll_at - before > delay  # exponential backoff


@pytest.mark.parametrize(("status", "retry_after"), [(429, 7200), (503, 3600)])
def test_retry_after_is_obeyed(httpserver, status, retry_after):
    httpserver.expect_request("/feed.xml").respond_with_data("later", status=status,
                                                             headers={"Retry-After": str(retry_after)})  # fmt: skip
    source = make_source(httpserver.url_for("/feed.xml"))
    poll_source(source_id=source.pk)
    source.refresh_from_db()
    assert source.next_poll_at >= timezone.now() + timedelta(seconds=retry_after - 100)
    assert "transient" in source.last_error


def test_410_stops_polling_and_says_so(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data("gone", status=410)
    source = make_source(httpserver.url_for("/feed.xml"))
    assert poll_source(source_id=source.pk).status == "gone"
    source.refresh_from_db()
    assert source.status == Source.Status.GONE and source.next_poll_at is None
    assert scheduler.claim_due_sources(now=timezone.now() + timedelta(days=30)) == []


def test_a_page_that_is_not_a_feed_is_a_recorded_error(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data("<html><body>hello</body></html>", content_type="text/html")
    source = make_source(httpserver.url_for("/feed.xml"))
    poll_source(source_id=source.pk)
    source.refresh_from_db()
    assert source.status == Source.Status.ERROR and "not an RSS or Atom feed" in source.last_error


@pytest.mark.parametrize("status", [301, 308])
def test_a_permanent_redirect_moves_the_source_only_after_it_repeats(httpserver, status):
    httpserver.expect_request("/old.xml").respond_with_response(
        Response(status=status, headers={"Location": httpserver.url_for("/new.xml")})
    )
    httpserver.expect_request("/new.xml").respond_with_data(rss(("a", "one")), content_type=RSS)
    source = make_source(httpserver.url_for("/old.xml"))
    poll_source(source_id=source.pk)
    source.refresh_from_db()
    assert source.url.endswith("/old.xml") and source.pending_redirect_url.endswith("/new.xml")
    poll_source(source_id=source.pk)
    source.refresh_from_db()
    assert source.url.endswith("/new.xml") and source.pending_redirect_url == ""


@pytest.mark.parametrize("status", [302, 307])
def test_a_temporary_redirect_is_never_stored(httpserver, status):
    httpserver.expect_request("/old.xml").respond_with_response(
        Response(status=status, headers={"Location": httpserver.url_for("/new.xml")})
    )
    httpserver.expect_request("/new.xml").respond_with_data(rss(("a", "one")), content_type=RSS)
    source = make_source(httpserver.url_for("/old.xml"))
    for _ in range(3):
        poll_source(source_id=source.pk)
    source.refresh_from_db()
    assert source.url.endswith("/old.xml") and Post.objects.count() == 1


def moved(location: str, status: int = 302) -> Response:
    return Response(status=status, headers={"Location": location})


def test_a_redirect_loop_and_a_chain_of_six_hops_leave_their_sources_failing_and_say_why(httpserver, client, alice):
    httpserver.expect_request("/a").respond_with_response(moved("/b"))
    httpserver.expect_request("/b").respond_with_response(moved(httpserver.url_for("/a")))
    for hop in range(1, 7):  # /r1 -> ... -> /r7: six hops, one more than a fetch follows
        httpserver.expect_request(f"/r{hop}").respond_with_response(moved(f"/r{hop + 1}", 301))
    httpserver.expect_request("/r7").respond_with_data(rss(("a", "one")), content_type=RSS)
    looping, chained = make_source(httpserver.url_for("/a")), make_source(httpserver.url_for("/r1"))
    for source in (looping, chained):
        Subscription.objects.create(user=alice, source=source)
    client.force_login(alice)
    before = timezone.now()
    for source, reason in ((looping, f"redirect loop at {httpserver.url_for('/a')}"),
                           (chained, "too many redirects (more than 5)")):  # fmt: skip
        assert poll_source(source_id=source.pk).status == "error"
        source.refresh_from_db()
        assert source.status == Source.Status.ERROR and source.error_count == 1
        assert source.last_error == f"{reason} (permanent)"
        assert source.next_poll_at - before >= timedelta(minutes=50)  # a permanent error: backed off from an hour
        assert source.url == source.address and source.pending_redirect_url == "" and source.lease_until is None
        page = client.get(f"/sources/{source.pk}/").content.decode()
        assert f'<dd class="error">{reason} (permanent)' in page and "status-error" in page
    assert not Post.objects.exists()
    assert len(requests_to(httpserver, "/a")) == 1 and requests_to(httpserver, "/r7") == []


@pytest.mark.parametrize("private", ["127.0.0.1", "10.0.0.7"])
def test_a_permanent_redirect_to_a_private_address_is_refused_and_never_becomes_the_sources_url(
    settings, raw_server, internet, private
):
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    secret = rss(("s", "secret"))
    inside = raw_server(send(response_head(content_type=RSS, content_length=str(len(secret))), secret))
    internet.routes[(private, 80)] = ("127.0.0.1", inside.port)  # what a fetch would reach if it went in
    outside = raw_server(send(response_head("301 Moved Permanently", location=f"http://{private}/feed.xml",
                                            content_length="0")))  # fmt: skip
    internet.host("feeds.example.com", "93.184.216.34", server=outside)
    source = make_source("http://feeds.example.com/feed.xml")
    outcomes = [poll_source(source_id=source.pk).status for _ in range(3)]  # a 301 seen twice would move it
    source.refresh_from_db()
    assert source.url == "http://feeds.example.com/feed.xml"
    assert source.pending_redirect_url == "" and source.pending_redirect_count == 0
    assert outcomes == ["error"] * 3 and source.status == Source.Status.ERROR
    assert source.last_error == f"refused: {private} is a private address (permanent)"
    assert len(outside.requests) == 3 and inside.connections == 0 and not Post.objects.exists()


def test_unparsable_and_missing_dates_become_the_fetch_time_in_feed_order_and_stay_put_across_polls(httpserver, alice):
    document = rss_with_dates(("first", "<pubDate>not a date</pubDate>"),
                              ("dated", "<pubDate>Sun, 23 Nov 2025 10:00:00 GMT</pubDate>"),
                              ("second", "<pubDate>Mon, 99 Foo 2026</pubDate>"),
                              ("third", "<pubDate/>"))  # fmt: skip
    httpserver.expect_request("/feed.xml").respond_with_data(document, content_type=RSS)
    source = make_source(httpserver.url_for("/feed.xml"))
    Subscription.objects.create(user=alice, source=source)
    before = timezone.now()
    assert len(poll_source(source_id=source.pk).stored.created) == 4
    after = timezone.now()
    posts = {post.guid: post for post in Post.objects.filter(source=source)}
    fetched_at = posts["first"].fetched_at
    assert before <= fetched_at <= after
    for guid in ("first", "second", "third"):
        assert fetched_at - timedelta(milliseconds=1) < posts[guid].published <= fetched_at
    assert posts["first"].published > posts["second"].published > posts["third"].published  # the feed's order
    assert posts["dated"].published == datetime(2025, 11, 23, 10, 0, tzinfo=UTC)
    river = [entry.post.guid for entry in timeline_for(user=alice).entries]
    assert river == ["first", "second", "third", "dated"]
    dates = {guid: post.published for guid, post in posts.items()}

    second = poll_source(source_id=source.pk)  # the same document again, a moment later
    assert dict(Post.objects.filter(source=source).values_list("guid", "published")) == dates
    assert [entry.post.guid for entry in timeline_for(user=alice).entries] == river
    assert second.status == "stored" and second.stored.created == [] and second.stored.updated == []
    assert TimelineEntry.objects.filter(user=alice).count() == 4 and len(requests_to(httpserver, "/feed.xml")) == 2


def rss_with_dates(*items: tuple[str, str]) -> bytes:
    """An RSS 2.0 feed whose items are (guid, the item's date element as written)."""
    body = "".join(f"<item><guid isPermaLink='false'>{guid}</guid><title>{guid}</title>"
                   f"<description>{guid}</description>{date}</item>" for guid, date in items)  # fmt: skip
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Dates</title>{body}</channel></rss>'.encode()


def test_cache_control_max_age_delays_the_next_poll(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(("a", "one")), content_type=RSS, headers={"Cache-Control": "public, max-age=7200"}
    )
    source = make_source(httpserver.url_for("/feed.xml"))
    poll_source(source_id=source.pk)
    source.refresh_from_db()
    assert source.next_poll_at >= timezone.now() + timedelta(seconds=7100)


def test_one_failing_source_does_not_affect_another_and_each_says_why_it_fails(httpserver, alice):
    httpserver.expect_request("/good.xml").respond_with_data(rss(("a", "fine")), content_type=RSS)
    httpserver.expect_request("/bad.xml").respond_with_data(b"<rss><channel><item>" + b"\x00\xff" * 100, content_type=RSS)
    httpserver.expect_request("/down.xml").respond_with_data("boom", status=500)
    good, bad, down = (make_source(httpserver.url_for(path)) for path in ("/good.xml", "/bad.xml", "/down.xml"))
    for source in (good, bad, down):
        Subscription.objects.create(user=alice, source=source)
    assert schedule_due_polls() == 3  # eager in tests: every claimed source was polled inline
    for source in (good, bad, down):
        source.refresh_from_db()
    assert good.status == Source.Status.OK and good.last_error == "" and good.error_count == 0
    assert list(Post.objects.filter(source=good).values_list("guid", flat=True)) == ["a"]
    assert bad.status == Source.Status.ERROR and bad.error_count == 1
    assert bad.last_error == "not an RSS or Atom feed (broken XML: not well-formed (invalid token)) (permanent)"
    assert down.status == Source.Status.ERROR and down.error_count == 1
    assert down.last_error == "HTTP 500 Internal Server Error (transient)"
    assert not Post.objects.exclude(source=good).exists()
    assert TimelineEntry.objects.filter(user=alice).count() == 1
    assert Source.objects.filter(lease_until__isnull=False).count() == 0


def test_a_cut_off_feed_that_still_says_something_is_read_as_far_as_it_goes(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data(rss(("a", "one"), ("b", "two"))[:-60], content_type=RSS)
    source = make_source(httpserver.url_for("/feed.xml"))
    assert poll_source(source_id=source.pk).status == "stored"
    source.refresh_from_db()
    assert source.status == Source.Status.OK and source.last_error == ""
    assert "a" in Post.objects.filter(source=source).values_list("guid", flat=True)


class TestClaims:
    def test_a_due_source_is_claimed_once(self):
        make_source("https://a.example/feed")
        first = scheduler.claim_due_sources()
        assert len(first) == 1 and scheduler.claim_due_sources() == []

    def test_a_lease_expires_so_a_killed_worker_loses_nothing(self):
        source = make_source("https://a.example/feed")
        scheduler.claim_due_sources()
        later = timezone.now() + scheduler.LEASE + timedelta(seconds=1)
        assert scheduler.claim_due_sources(now=later) == [source.pk]

    def test_refresh_now_cannot_claim_a_source_that_is_being_polled(self):
        source = make_source("https://a.example/feed")
        scheduler.claim_due_sources()
        assert scheduler.claim_source(source_id=source.pk) is False

    def test_sources_not_yet_due_are_left_alone(self):
        make_source("https://a.example/feed", next_poll_at=None)
        Source.objects.update(next_poll_at=timezone.now() + timedelta(hours=1))
        assert scheduler.claim_due_sources() == []


class TestFairClaims:
    """Due sources are claimed in turns across people (PostgreSQL, as in production)."""

    def test_one_persons_backlog_does_not_push_anothers_due_sources_back(self, alice, bob):
        now = timezone.now()
        for n in range(300):  # bob's: all overdue by an hour, far more than one claim takes
            source = make_source(f"https://bob{n}.example/feed", next_poll_at=now - timedelta(hours=1))
            Subscription.objects.create(user=bob, source=source)
        alices = [make_source(f"https://alice{n}.example/feed", next_poll_at=now) for n in range(3)]
        for source in alices:
            Subscription.objects.create(user=alice, source=source)
        claimed = scheduler.claim_due_sources(limit=10, now=now)
        assert len(claimed) == 10 and {s.pk for s in alices} <= set(claimed)
        assert len(set(claimed) - {s.pk for s in alices}) == 7  # the rest of the claim goes to bob, oldest first
        oldest_of_bob = Source.objects.filter(subscriptions__user=bob).order_by("next_poll_at", "id")[:7]
        assert set(claimed) - {s.pk for s in alices} == {s.pk for s in oldest_of_bob}

    def test_a_source_several_people_follow_is_claimed_once_and_nobodys_sources_still_get_their_turn(
        self, alice, bob
    ):
        now = timezone.now()
        shared = make_source("https://shared.example/feed", next_poll_at=now - timedelta(minutes=1))
        for person in (alice, bob):
            Subscription.objects.create(user=person, source=shared)
        orphan = make_source("https://orphan.example/feed", next_poll_at=now)  # its last follower just left
        claimed = scheduler.claim_due_sources(now=now)
        assert sorted(claimed) == sorted([shared.pk, orphan.pk])
        assert scheduler.claim_due_sources(now=now) == []


class TestAdaptiveInterval:
    def test_busy_sources_are_polled_more_often_than_quiet_ones(self):
        busy = scheduler.next_poll_delay(posts_per_day=48, subscribers=1)
        quiet = scheduler.next_poll_delay(posts_per_day=2, subscribers=1)
        assert busy < quiet

    def test_popular_sources_are_polled_sooner(self):
        assert scheduler.next_poll_delay(posts_per_day=4, subscribers=1000) < scheduler.next_poll_delay(
            posts_per_day=4, subscribers=1
        ) * 0.5

    def test_the_interval_is_clamped_between_five_minutes_and_a_day(self):
        assert scheduler.next_poll_delay(posts_per_day=100_000, subscribers=10_000) == timedelta(minutes=5)
        assert timedelta(hours=21) < scheduler.next_poll_delay(posts_per_day=0, subscribers=1) <= timedelta(hours=24)

    def test_the_interval_has_jitter(self):
        delays = {scheduler.next_poll_delay(posts_per_day=6, subscribers=1) for _ in range(20)}
        assert len(delays) > 1

    def test_the_posting_rate_comes_from_the_feed_window(self):
        from aggregator.content.entry import Entry

        now = timezone.now()
        entries = [Entry(guid=str(n), published=now - timedelta(hours=n)) for n in range(1, 25)]
        assert 23 <= scheduler.observed_posts_per_day(entries, now=now) <= 25
        assert scheduler.observed_posts_per_day([Entry(guid="x")], now=now) is None
