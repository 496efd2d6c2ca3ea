"""Chorus against an independent WebSub hub (Flask-WebSub from PyPI, on loopback): subscribe, the hub's intent
check, a signed fat ping to the timeline, renewal and unsubscribe, all over real HTTP both ways."""

import sys
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import urllib3
from werkzeug import Response

from aggregator.following.subscriptions import unsubscribe
from aggregator.ingest import websub
from aggregator.ingest.polling import poll_source
from aggregator.models import Post, Source, Subscription, WebSubSubscription
from timelines.models import TimelineEntry

from tests.servers.feeds import RSS, rss
from tests.servers.processes import free_port, spawn, stop, wait_for_port

pytestmark = pytest.mark.django_db(transaction=True)
State = WebSubSubscription.State


@pytest.fixture
def hub(tmp_path):
    port = free_port()
    process = spawn([sys.executable, "-m", "tests.servers.websub_hub", str(port), str(tmp_path / "hub.sqlite3")],
                    env=None)  # fmt: skip
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/hub"
    finally:
        print(stop(process))


class Feed:
    """The publisher's feed, advertising the hub; ``items`` change what the next fetch (by Chorus or hub) sees."""

    def __init__(self, httpserver, hub_url: str) -> None:
        self.url, self.hub_url, self.items = httpserver.url_for("/feed.xml"), hub_url, [("a", "first post")]
        httpserver.expect_request("/feed.xml").respond_with_handler(self._respond)

    def _respond(self, request):
        links = f'<{self.hub_url}>; rel="hub", <{self.url}>; rel="self"'
        return Response(rss(*self.items), content_type=RSS, headers={"Link": links})

    def publish(self, *item: str) -> int:
        """The publisher tells the hub; the hub fetches the feed and delivers it before it answers."""
        self.items.append(item)
        form = urlencode({"hub.mode": "publish", "hub.topic": self.url})
        return urllib3.request("POST", self.hub_url, body=form, timeout=30,
                               headers={"Content-Type": "application/x-www-form-urlencoded"}).status  # fmt: skip


def test_subscribe_verify_deliver_renew_and_unsubscribe_with_an_independent_hub(hub, httpserver, live_server, settings, alice):
    settings.CHORUS_PUBLIC_URL = live_server.url
    feed = Feed(httpserver, hub)
    source = Source.objects.create(address=feed.url, url=feed.url)
    subscription = Subscription.objects.create(user=alice, source=source)

    poll_source(source_id=source.pk)  # finds the hub; the request leaves after the commit, the hub checks intent
    row = WebSubSubscription.objects.get(source=source)
    assert row.state == State.ACTIVE and row.hub_url == hub and row.topic_url == feed.url
    lease = row.expires_at - row.state_at
    assert timedelta(days=9) < lease <= timedelta(days=10)  # what Chorus asked for, within the hub's bounds

    assert feed.publish("b", "pushed through the hub") == 202
    post = Post.objects.get(source=source, guid="b")
    assert TimelineEntry.objects.filter(user=alice, post=post).exists()
    row.refresh_from_db()
    assert row.deliveries == 1 and row.rejected == 0  # signed with the secret Chorus gave (sha256)

    verified_before = row.state_at
    assert websub.sweep(now=row.next_action_at + timedelta(seconds=1)) == 1  # renewal: the hub checks again
    row.refresh_from_db()
    assert row.state == State.ACTIVE and row.state_at > verified_before

    unsubscribe(user=alice, subscription_id=subscription.pk)  # the last follower: unsubscribe, the hub checks
    assert not WebSubSubscription.objects.filter(source=source).exists()
    assert feed.publish("c", "after the unsubscribe") == 202
    assert not Post.objects.filter(guid="c").exists()


def test_a_hub_signature_made_with_another_secret_is_refused(hub, httpserver, live_server, settings, alice):
    settings.CHORUS_PUBLIC_URL = live_server.url
    feed = Feed(httpserver, hub)
    source = Source.objects.create(address=feed.url, url=feed.url)
    Subscription.objects.create(user=alice, source=source)
    poll_source(source_id=source.pk)
    WebSubSubscription.objects.filter(source=source).update(secret="not what the hub holds")
    assert feed.publish("b", "signed with the old secret") == 202
    row = WebSubSubscription.objects.get(source=source)
    assert row.rejected == 1 and not Post.objects.filter(guid="b").exists()
