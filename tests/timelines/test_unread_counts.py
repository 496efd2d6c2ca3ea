"""The sidebar's unread counts are kept between page loads (timelines/unread_cache.py): every write changes the
kept counts by exactly what it did (new posts, reading one post, marking all read, following, unfollowing, a
retracted post), with no count again; old counts are counted again in the background while the page shows them;
and a count that raced a write is not kept. Real PostgreSQL and Redis; the embedded hub's in-memory store too where
a test says so."""

import re
import threading
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from aggregator.content.entry import Entry
from aggregator.following.subscriptions import follow_source, unsubscribe
from aggregator.ingest.pipeline import ingest, retract
from aggregator.models import Source, Subscription
from timelines import services, unread_cache
from timelines.blocks import block_create, block_delete, blocked
from timelines.models import TimelineEntry
from timelines.selectors import cursor_of, unread_counts_for

from tests.timelines.test_pages import follow

pytestmark = pytest.mark.django_db(transaction=True)  # the kept counts take each write after its commit


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


def test_new_posts_and_reading_one_post_change_the_kept_counts(client, alice):
    carol = follow(alice, "carol", 3)
    client.force_login(alice)
    assert shown_counts(client) == ("3", {str(carol.pk): "3"})
    ingest(carol, [Entry(guid="new", title="arrived later", published=datetime(2026, 12, 1, tzinfo=UTC))])
    assert counting_queries(client) == []
    assert shown_counts(client) == ("4", {str(carol.pk): "4"})
    post_id = TimelineEntry.objects.filter(user=alice).order_by("-published").first().post_id
    client.post("/read/", {"post_id": post_id, "read": "1", "next": "/"})
    assert counting_queries(client) == []
    assert shown_counts(client) == ("3", {str(carol.pk): "3"})
    client.post("/read/", {"post_id": post_id, "read": "1", "next": "/"})  # read already: no change
    assert shown_counts(client) == ("3", {str(carol.pk): "3"})
    client.post("/read/", {"post_id": post_id, "read": "0", "next": "/"})
    assert counting_queries(client) == []
    assert shown_counts(client) == ("4", {str(carol.pk): "4"})
    html = client.get("/").content.decode()
    up_to = re.search(r'name="up_to" value="([^"]+)"', html).group(1)
    with CaptureQueriesContext(connection) as queries:  # the statement itself says what it marked read
        client.post("/read/all/", {"up_to": up_to, "next": "/"})
    assert not [q for q in queries.captured_queries if "GROUP BY" in q["sql"] and "WITH done" not in q["sql"]]
    assert counting_queries(client) == []
    assert shown_counts(client) == ("", {str(carol.pk): ""})


def counted(user) -> dict[int, int]:
    """The unread counts per source as the database has them now."""
    rows = TimelineEntry.objects.filter(user=user, is_read=False).values("source_id").annotate(n=Count("*"))
    return {row["source_id"]: row["n"] for row in rows}


def kept(user) -> dict[int, int]:
    """The kept counts, or a fresh count when none are kept (then kept)."""
    return unread_cache.counts(user_id=user.pk, count=lambda: counted(user))


def kept_only(user) -> dict[int, int]:
    """The kept counts; the test fails if none are kept (a write dropped them instead of changing them)."""

    def no_count():
        pytest.fail("counted again: the kept counts were dropped")

    return unread_cache.counts(user_id=user.pk, count=no_count)


def test_fan_out_to_several_followers_keeps_each_ones_counts_exact(alice, bob):
    carol = follow(alice, "carol", 2)
    Subscription.objects.create(user=bob, source=carol)
    dave = follow(bob, "dave", 1)
    assert kept(alice) == counted(alice) and kept(bob) == counted(bob) == {dave.pk: 1}
    later = datetime(2026, 12, 1, tzinfo=UTC)
    ingest(carol, [Entry(guid=f"more-{n}", title=f"more {n}", published=later) for n in range(3)])
    ingest(carol, [Entry(guid="more-0", title="more 0", published=later)])  # known: no row, no change
    assert kept(alice) == counted(alice) == {carol.pk: 5}
    assert kept(bob) == counted(bob) == {carol.pk: 3, dave.pk: 1}  # bob had no row of carol's before
    services.mark_read(user=bob, post_ids=list(TimelineEntry.objects.filter(user=bob).values_list("post_id", flat=True)))
    assert kept(bob) == counted(bob) == {}
    assert kept(alice) == counted(alice) == {carol.pk: 5}


def test_following_unfollowing_and_retraction_change_the_kept_counts_exactly(alice, bob, store):
    carol, dave = follow(alice, "carol", 3), follow(alice, "dave", 2)
    erin = follow(bob, "erin", 4)
    Subscription.objects.create(user=bob, source=carol)
    TimelineEntry.objects.filter(user=alice, post__guid="dave-0").update(is_read=True)
    assert kept(alice) == {carol.pk: 3, dave.pk: 1}
    unsubscribe(user=alice, subscription_id=Subscription.objects.get(user=alice, source=dave).pk)
    assert kept_only(alice) == counted(alice) == {carol.pk: 3}
    follow_source(user=alice, source=erin)  # backfill: erin's posts come onto alice's timeline
    assert kept_only(alice) == counted(alice) == {carol.pk: 3, erin.pk: 4}
    assert kept(bob) == counted(bob) == {erin.pk: 4}  # bob follows carol but had none of her posts
    retract(carol, ["carol-0"])
    assert kept_only(alice) == counted(alice) == {carol.pk: 2, erin.pk: 4}
    retract(erin, ["erin-1"])  # on both timelines
    assert kept_only(alice) == counted(alice) == {carol.pk: 2, erin.pk: 3}
    assert kept_only(bob) == counted(bob) == {erin.pk: 3}


@pytest.mark.parametrize("scope", ["all", "tag", "source"])
def test_marking_all_read_changes_the_kept_counts_exactly(alice, scope):
    carol, dave = follow(alice, "carol", 3, tag="Friends"), follow(alice, "dave", 2)
    erin = follow(alice, "erin", 2, tag="friends")  # one tag, in any case
    assert kept(alice) == {carol.pk: 3, dave.pk: 2, erin.pk: 2}
    # Up to carol-1: carol-2 is newer, and so are dave-1 and erin-1 (the same time, stored after it).
    up_to = TimelineEntry.objects.filter(user=alice, post__guid="carol-1").get()
    filters = {"all": {}, "tag": {"tag": "FRIENDS"}, "source": {"source_id": carol.pk}}[scope]
    marked = services.mark_all_read(user=alice, up_to=cursor_of(up_to), **filters)
    expected = {"all": {carol.pk: 1, dave.pk: 1, erin.pk: 1}, "tag": {carol.pk: 1, dave.pk: 2, erin.pk: 1},
                "source": {carol.pk: 1, dave.pk: 2, erin.pk: 2}}[scope]  # fmt: skip
    assert kept_only(alice) == counted(alice) == expected
    assert marked == 7 - sum(expected.values())


def test_old_counts_are_shown_while_a_worker_counts_them_again(alice, store, monkeypatch):
    carol = follow(alice, "carol", 3)
    assert kept(alice) == {carol.pk: 3}
    TimelineEntry.objects.filter(user=alice, post__guid="carol-0").update(is_read=True)  # behind the cache's back
    assert kept_only(alice) == {carol.pk: 3}  # not old yet: no recount
    monkeypatch.setattr(unread_cache, "REFRESH_AFTER", -1)  # every kept count is old now
    # The page gets the kept counts at once; the recount is queued (it runs here: tasks run eagerly in tests).
    assert kept_only(alice) == {carol.pk: 3}
    assert kept_only(alice) == counted(alice) == {carol.pk: 2}


@pytest.fixture(params=["redis", "memory"])
def store(request, settings):
    """The kept counts in Redis (production), or in this process's memory (the embedded hub, no Redis)."""
    if request.param == "memory":
        settings.REDIS_URL = ""
    return request.param


def test_a_count_that_missed_a_write_whose_delta_came_while_it_counted_is_not_kept(alice, store):
    carol = follow(alice, "carol", 3)
    post_id = TimelineEntry.objects.filter(user=alice).first().post_id

    def count_then_a_read_arrives():
        before = counted(alice)
        run_in_thread(lambda: services.mark_read(user=alice, post_ids=[post_id]))  # committed, its delta applied
        return before

    assert unread_cache.counts(user_id=alice.pk, count=count_then_a_read_arrives) == {carol.pk: 3}
    assert kept(alice) == counted(alice) == {carol.pk: 2}


def test_a_count_that_saw_a_write_whose_delta_is_still_to_come_is_not_kept(alice, store):
    carol = follow(alice, "carol", 3)
    post_id = TimelineEntry.objects.filter(user=alice).first().post_id
    committed, go_on = threading.Event(), threading.Event()

    def read_a_post():
        with transaction.atomic():
            # Runs after the commit and before the delta (hooks run in order): holds the delta back.
            transaction.on_commit(lambda: (committed.set(), go_on.wait(10)))
            services.mark_read(user=alice, post_ids=[post_id])

    reader = threading.Thread(target=with_own_connection(read_a_post))
    reader.start()
    assert committed.wait(10)
    assert unread_cache.counts(user_id=alice.pk, count=lambda: counted(alice)) == {carol.pk: 2}  # saw the read
    go_on.set()
    reader.join(10)
    assert kept(alice) == counted(alice) == {carol.pk: 2}  # not 1: the delta did not come on top of that count


def test_a_write_rolled_back_changes_no_counts(alice, store):
    carol = follow(alice, "carol", 3)
    post_id = TimelineEntry.objects.filter(user=alice).first().post_id
    with pytest.raises(RuntimeError), transaction.atomic():
        services.mark_read(user=alice, post_ids=[post_id])
        assert kept(alice) == {carol.pk: 2}  # the write's own transaction counts again
        raise RuntimeError("rolled back")
    assert kept(alice) == counted(alice) == {carol.pk: 3}


def with_own_connection(work):
    def run():
        try:
            work()
        finally:
            connection.close()

    return run


def run_in_thread(work) -> None:
    thread = threading.Thread(target=with_own_connection(work))
    thread.start()
    thread.join(10)
    assert not thread.is_alive()


def test_following_unfollowing_and_retractions_show_on_the_page(client, alice, bob):
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


def shown_by_counting(user) -> dict[int, int]:
    """The counts a blocker's river shows, counted the slow way: every unread row tested against their blocks."""
    rows = TimelineEntry.objects.filter(user=user, is_read=False).exclude(blocked(user=user, source="source_id"))
    return {row["source_id"]: row["n"] for row in rows.values("source_id").annotate(n=Count("*"))}


def counted_now(user) -> list[str]:
    """The statements that counted rows while reading the person's counts (none when they were kept)."""
    with CaptureQueriesContext(connection) as queries:
        unread_counts_for(user=user)
    return [q["sql"] for q in queries.captured_queries if "GROUP BY" in q["sql"]]


def test_a_blockers_counts_leave_out_what_is_hidden_and_stay_kept(alice, store):
    later = datetime(2026, 12, 1, tzinfo=UTC)
    carol, dave = follow(alice, "carol", 3), follow(alice, "dave", 2)
    ingest(carol, [Entry(guid="c-spam", title="buy spam now", published=later),
                   Entry(guid="c-troll", title="hello", author_handle="@troll@bad.example", published=later)])
    assert unread_counts_for(user=alice) == {carol.pk: 5, dave.pk: 2}
    spam = block_create(user=alice, kind="word", value="spam")[0]
    block_create(user=alice, kind="author", value="@troll@bad.example")
    block_create(user=alice, kind="source", value=str(dave.pk))
    assert unread_counts_for(user=alice) == shown_by_counting(alice) == {carol.pk: 3}

    ingest(carol, [Entry(guid="c-spam-2", title="more SPAM", published=later),  # hidden: no change
                   Entry(guid="c-fine", title="fine", published=later)])  # shown: +1
    ingest(dave, [Entry(guid="d-new", title="muted source", published=later)])
    assert counted_now(alice) == []
    assert unread_counts_for(user=alice) == shown_by_counting(alice) == {carol.pk: 4}

    hidden_post = TimelineEntry.objects.get(user=alice, post__guid="c-spam").post_id
    services.mark_read(user=alice, post_ids=[hidden_post])  # read through the API: it was not counted
    assert unread_counts_for(user=alice) == shown_by_counting(alice) == {carol.pk: 4}
    services.mark_read(user=alice, post_ids=[hidden_post], read=False)
    assert counted_now(alice) == []
    assert unread_counts_for(user=alice) == shown_by_counting(alice) == {carol.pk: 4}

    block_delete(user=alice, block_id=spam.pk)  # what it hid counts again
    assert unread_counts_for(user=alice) == shown_by_counting(alice) == {carol.pk: 6}
    newest = TimelineEntry.objects.filter(user=alice).order_by("-published", "-post_id").first()
    services.mark_all_read(user=alice, up_to=cursor_of(newest))
    assert unread_counts_for(user=alice) == shown_by_counting(alice) == {}
