"""Chorus as a WebSub hub for its people's feeds: intent verified through the outbound guard, signed fat pings
on posts and deletions, retries with backoff, 410 drops, lease expiry, caps per topic and per host."""

import hashlib
import hmac
from datetime import timedelta

import feedparser
import pytest
from django.utils import timezone
from werkzeug import Response

from aggregator.ingest.pipeline import ingest_feed
from aggregator.models import Post, Source
from aggregator.networks.rss import parse
from publishing import hub
from publishing.hub import sweep
from publishing.microblogs import microblog_for
from publishing.models import HubOwedPost, HubSubscription
from publishing.posting import post_create, post_delete

pytestmark = pytest.mark.django_db
PUBLIC = "https://chorus.example"
TOPIC = f"{PUBLIC}/people/alice/feed.atom"
SECRET = "a shared secret"


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.CHORUS_PUBLIC_URL = PUBLIC


def echo_challenge(request):
    return Response(request.args.get("hub.challenge", ""), content_type="text/plain")


def subscribe(client, committed, callback: str, **extra):
    form = {"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": callback, "hub.secret": SECRET, **extra}
    with committed():
        return client.post("/websub/hub/", form)


def test_a_confirmed_subscriber_gets_signed_fat_pings_of_posts_and_deletions(client, alice, httpserver, committed):
    httpserver.expect_request("/cb", method="GET").respond_with_handler(echo_challenge)
    received = []
    httpserver.expect_request("/cb", method="POST").respond_with_handler(
        lambda request: received.append((request.headers.get("X-Hub-Signature"), request.get_data())) or Response("")
    )
    answer = subscribe(client, committed, httpserver.url_for("/cb"), **{"hub.lease_seconds": "3600"})
    assert answer.status_code == 202
    row = HubSubscription.objects.get()
    assert row.state == HubSubscription.State.ACTIVE and row.secret == SECRET and row.lease_seconds == 3600
    with committed():
        post = post_create(user=alice, text="pushed to you")
    signature, body = received[-1]
    assert signature == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert feedparser.parse(body).entries[0].id == post.url
    with committed():
        post_delete(user=alice, post_id=post.pk)
    assert len(received) == 2 and b"at:deleted-entry" in received[-1][1] and post.url.encode() in received[-1][1]
    assert client.get("/api/v1/people/alice").json()["followers_count"] == 1


def test_a_callback_that_does_not_echo_the_challenge_subscribes_nothing(client, alice, httpserver, committed):
    httpserver.expect_request("/cb", method="GET").respond_with_data("something else")
    assert subscribe(client, committed, httpserver.url_for("/cb")).status_code == 202
    assert not HubSubscription.objects.exists()


def test_requests_the_hub_refuses_say_why(client, alice, settings, committed):
    assert subscribe(client, committed, "http://127.0.0.1:9/cb", **{"hub.topic": "https://elsewhere.example/feed"}).status_code == 400
    assert subscribe(client, committed, "file:///etc/passwd").status_code == 400
    assert subscribe(client, committed, "http://127.0.0.1:9/cb", **{"hub.topic": f"{PUBLIC}/people/nobody/feed.atom"}).status_code == 404
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    refused = subscribe(client, committed, "http://127.0.0.1:9/cb")
    assert refused.status_code == 400 and b"hub.callback refused" in refused.content
    assert not HubSubscription.objects.exists()


def test_subscribers_are_capped_per_callback_host(client, alice, settings, httpserver, committed):
    settings.CHORUS_HUB_MAX_SUBSCRIPTIONS_PER_HOST = 1
    httpserver.expect_request("/one", method="GET").respond_with_handler(echo_challenge)
    assert subscribe(client, committed, httpserver.url_for("/one")).status_code == 202
    answer = subscribe(client, committed, httpserver.url_for("/two"))
    assert answer.status_code == 429 and b"subscriptions as the hub takes from one host" in answer.content


def active_subscriber(alice, callback: str) -> HubSubscription:
    return HubSubscription.objects.create(
        microblog=microblog_for(alice), callback=callback, callback_host="127.0.0.1", secret=SECRET,
        state=HubSubscription.State.ACTIVE, lease_seconds=3600, expires_at=timezone.now() + timedelta(hours=1))


def test_a_failing_callback_is_retried_with_backoff_and_one_answering_410_is_dropped(alice, httpserver, committed):
    failing = active_subscriber(alice, httpserver.url_for("/failing"))
    gone = active_subscriber(alice, httpserver.url_for("/gone"))
    httpserver.expect_request("/failing", method="POST").respond_with_data("busy", status=503)
    httpserver.expect_request("/gone", method="POST").respond_with_data("gone", status=410)
    with committed():
        post_create(user=alice, text="to both")
    assert not HubSubscription.objects.filter(pk=gone.pk).exists()
    failing.refresh_from_db()
    assert failing.attempts == 1 and failing.due_at > timezone.now() + timedelta(seconds=20)
    assert "503" in failing.last_error
    HubSubscription.objects.filter(pk=failing.pk).update(due_at=timezone.now())
    sweep()  # its backoff ended: tried again, failing again, waits longer
    failing.refresh_from_db()
    assert failing.attempts == 2 and failing.due_at > timezone.now() + timedelta(seconds=45)


def test_an_expired_lease_is_dropped_and_gets_nothing(alice, httpserver, committed):
    expired = active_subscriber(alice, httpserver.url_for("/late"))
    HubSubscription.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with committed():
        post_create(user=alice, text="not for you")
    assert not httpserver.log
    sweep()
    assert not HubSubscription.objects.exists()


def test_a_post_whose_queued_delivery_is_lost_is_delivered_by_the_sweep(client, alice, httpserver, committed):
    """The delivery a post owes is written in the post's own transaction: a lost broker message (here: the
    commit hooks never run) leaves it owed, and the periodic sweep sends it."""
    httpserver.expect_request("/cb", method="GET").respond_with_handler(echo_challenge)
    received = []
    httpserver.expect_request("/cb", method="POST").respond_with_handler(
        lambda request: received.append(request.get_data()) or Response(""))  # fmt: skip
    subscribe(client, committed, httpserver.url_for("/cb"))
    post = post_create(user=alice, text="owed before any message")  # its commit hooks never run
    assert HubSubscription.objects.get().due_at is not None and received == []
    assert sweep() == 1
    assert post.url.encode() in received[-1]


def receiving(httpserver, path: str = "/cb") -> list[bytes]:
    """The bodies the subscriber at ``path`` receives, in order."""
    bodies: list[bytes] = []
    httpserver.expect_request(path, method="POST").respond_with_handler(
        lambda request: bodies.append(request.get_data()) or Response(""))  # fmt: skip
    return bodies


def stored_by_a_follower(bodies: list[bytes]) -> Source:
    """What a following hub makes of the fat pings: each parsed and ingested as a WebSub delivery is."""
    remote = Source.objects.create(address="https://b.example/alice", url=TOPIC)
    for body in bodies:
        ingest_feed(remote, parse(body, base_url=TOPIC, content_type="application/atom+xml"))
    return remote


def test_a_fat_ping_carries_only_the_post_it_owes_and_the_follower_keeps_the_older_ones(alice, httpserver,
                                                                                        committed):  # fmt: skip
    active_subscriber(alice, httpserver.url_for("/cb"))
    bodies = receiving(httpserver)
    with committed():
        first = post_create(user=alice, text="the first")
    with committed():
        second = post_create(user=alice, text="the second")
    with committed():
        post_delete(user=alice, post_id=first.pk)
    pings = [feedparser.parse(body) for body in bodies]
    assert [[entry.id for entry in ping.entries] for ping in pings] == [[first.url], [second.url], []]
    assert b"at:deleted-entry" in bodies[2] and second.url.encode() not in bodies[2]
    remote = stored_by_a_follower(bodies)
    retracted = {guid: at is not None for guid, at in Post.objects.filter(source=remote).values_list("guid", "retracted_at")}
    assert retracted == {first.url: True, second.url: False}
    assert not HubOwedPost.objects.exists() and HubSubscription.objects.get().due_at is None


def test_posts_written_while_a_delivery_is_owed_leave_together_and_are_stored_once(alice, httpserver, committed):
    """Until its delivery is taken, a subscriber's later posts join it: one delivery carries them all."""
    active_subscriber(alice, httpserver.url_for("/cb"))
    bodies = receiving(httpserver)
    written = [post_create(user=alice, text=f"quickly {n}") for n in range(3)]  # the queued delivery not run yet
    assert HubOwedPost.objects.count() == 3
    with committed():
        assert sweep() == 1
    assert len(bodies) == 1
    assert {entry.id for entry in feedparser.parse(bodies[0]).entries} == {post.url for post in written}
    assert sweep() == 0 and not HubOwedPost.objects.exists()
    remote = stored_by_a_follower(bodies + bodies)  # a delivery handed twice stores nothing twice
    assert sorted(Post.objects.filter(source=remote).values_list("guid", flat=True)) == sorted(p.url for p in written)


def test_more_posts_than_one_delivery_carries_leave_in_the_next_at_once(alice, httpserver, committed, monkeypatch):
    """The next deliveries leave from the same run, and from a new task after ``ROUNDS`` of them."""
    monkeypatch.setattr(hub, "PING_POSTS", 2)
    monkeypatch.setattr(hub, "ROUNDS", 2)
    active_subscriber(alice, httpserver.url_for("/cb"))
    bodies = receiving(httpserver)
    written = [post_create(user=alice, text=f"many {n}") for n in range(5)]
    with committed():
        sweep()
    assert [len(feedparser.parse(body).entries) for body in bodies] == [2, 2, 1]
    assert {entry.id for body in bodies for entry in feedparser.parse(body).entries} == {p.url for p in written}
    assert HubSubscription.objects.get().due_at is None


def test_a_failed_delivery_keeps_its_posts_owed_and_a_new_post_waits_for_the_backoff(alice, httpserver, committed):
    subscriber = active_subscriber(alice, httpserver.url_for("/busy"))
    httpserver.expect_oneshot_request("/busy", method="POST").respond_with_data("busy", status=503)
    with committed():
        first = post_create(user=alice, text="while it is busy")
    with committed():
        second = post_create(user=alice, text="during the backoff")
    assert len(httpserver.log) == 1  # the second waits for the retry
    bodies = receiving(httpserver, "/busy")
    HubSubscription.objects.filter(pk=subscriber.pk).update(due_at=timezone.now())
    sweep()
    assert {entry.id for entry in feedparser.parse(bodies[0]).entries} == {first.url, second.url}
