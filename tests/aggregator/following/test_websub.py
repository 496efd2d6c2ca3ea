"""The WebSub callback and subscriptions against local servers speaking the protocol: a feed that names a hub,
a hub that records what it is asked, and the hub's intent checks and deliveries sent to the real callback view
(websub.rocks subscriber cases 200-205 and 300-302)."""

import base64
import concurrent.futures
import hashlib
import hmac
import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from werkzeug import Response

from aggregator import jobs
from aggregator.asgi import application
from aggregator.db import shared_redis
from aggregator.following.subscriptions import unsubscribe
from aggregator.ingest import websub, websub_deliveries
from aggregator.ingest.polling import poll_source
from aggregator.models import Post, Source, Subscription, WebSubSubscription
from aggregator.networks.rss import KnownEntries, parse, parser_version
from aggregator.runtime.embedded import EmbeddedScheduler
from aggregator.tasks import drain_websub_deliveries, store_websub_deliveries, store_websub_delivery
from timelines.models import TimelineEntry
from timelines.serializers import source_status_json

from tests.servers.asgi_client import asgi_post
from tests.servers.feeds import ATOM, RSS, atom, rss

pytestmark = pytest.mark.django_db
PUBLIC = "https://chorus.example"
State = WebSubSubscription.State


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.CHORUS_PUBLIC_URL = PUBLIC


def serve_feed(httpserver, *, path="/feed.xml", hub_path="/hub", self_url: str | None = None, body: bytes | None = None):
    hub, topic = httpserver.url_for(hub_path), self_url or httpserver.url_for(path)
    httpserver.expect_request(path).respond_with_data(
        body or rss(("a", "first")), content_type=RSS, headers={"Link": f'<{hub}>; rel="hub", <{topic}>; rel="self"'})
    return topic


def hub_accepts(httpserver, path="/hub", status=202):
    httpserver.expect_request(path, method="POST").respond_with_data("", status=status)


def hub_requests(httpserver, path="/hub"):
    return [request.form.to_dict() for request, _ in httpserver.log if request.path == path and request.method == "POST"]


def followed(alice, url: str) -> Source:
    source = Source.objects.create(address=url, url=url, next_poll_at=timezone.now())
    Subscription.objects.create(user=alice, source=source)
    return source


def polled(committed, source: Source) -> WebSubSubscription | None:
    with committed():
        poll_source(source_id=source.pk)
    return WebSubSubscription.objects.filter(source=source).first()


def callback_path(row: WebSubSubscription) -> str:
    return f"/websub/{row.callback_token}/"


def verify(client, row: WebSubSubscription, *, mode="subscribe", topic=None, challenge="c-123", lease="3600"):
    return client.get(callback_path(row), {"hub.mode": mode, "hub.topic": topic or row.topic_url,
                                           "hub.challenge": challenge, "hub.lease_seconds": lease})  # fmt: skip


def signed(body: bytes, secret: str, algorithm="sha256") -> dict:
    digest = hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()
    return {"HTTP_X_HUB_SIGNATURE": f"{algorithm}={digest}"}


def deliver(client, row, body: bytes, **headers):
    return client.post(callback_path(row), body, content_type=RSS, **headers)


@pytest.fixture
def active(httpserver, alice, client, committed):
    """Alice follows a feed whose hub verified Chorus' subscription."""
    return made_active(httpserver, alice, client, committed)


def made_active(httpserver, alice, client, committed, *, path="/feed.xml") -> WebSubSubscription:
    topic = serve_feed(httpserver, path=path)
    hub_accepts(httpserver)
    row = polled(committed, followed(alice, topic))
    assert verify(client, row).status_code == 200
    row.refresh_from_db()
    return row


def test_a_poll_that_finds_a_hub_subscribes_once_with_a_fresh_secret_and_its_own_callback(httpserver, alice, bob, committed):
    topic = serve_feed(httpserver)
    hub_accepts(httpserver)
    source = followed(alice, topic)
    Subscription.objects.create(user=bob, source=source)
    row = polled(committed, source)
    polled(committed, source)  # the next poll finds the same hub: no second request
    [request] = hub_requests(httpserver)
    assert request["hub.mode"] == "subscribe" and request["hub.topic"] == topic
    assert request["hub.callback"] == f"{PUBLIC}/websub/{row.callback_token}/" and len(row.callback_token) >= 40
    assert request["hub.secret"] == row.secret and len(row.secret) == 64
    assert row.state == State.PENDING


def test_the_intent_check_echoes_the_challenge_as_text_and_takes_the_hub_s_lease(active, client):
    assert active.state == State.ACTIVE
    assert timedelta(seconds=3590) < active.expires_at - timezone.now() <= timedelta(seconds=3600)  # the hub's lease
    response = verify(client, active, challenge="echo-me")
    assert response.content == b"echo-me" and response["Content-Type"].startswith("text/plain")


def test_200_a_self_url_that_differs_from_the_fetched_one_is_the_topic(httpserver, alice, committed):
    serve_feed(httpserver, self_url="https://dora.example.org/canonical.xml")
    hub_accepts(httpserver)
    polled(committed, followed(alice, httpserver.url_for("/feed.xml")))
    assert hub_requests(httpserver)[0]["hub.topic"] == "https://dora.example.org/canonical.xml"


@pytest.mark.parametrize("status", [301, 302])
def test_201_202_a_topic_that_redirects_is_subscribed_at_its_self_url(httpserver, alice, committed, status):
    topic = serve_feed(httpserver, path="/moved.xml")
    httpserver.expect_request("/feed.xml").respond_with_response(Response(status=status, headers={"Location": "/moved.xml"}))
    hub_accepts(httpserver)
    polled(committed, followed(alice, httpserver.url_for("/feed.xml")))
    assert hub_requests(httpserver)[0]["hub.topic"] == topic


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_203_204_a_hub_that_redirects_gets_the_subscription_at_its_new_address(httpserver, alice, committed, status):
    topic = serve_feed(httpserver)
    httpserver.expect_request("/hub", method="POST").respond_with_response(Response(status=status, headers={"Location": "/new-hub"}))
    hub_accepts(httpserver, "/new-hub")
    row = polled(committed, followed(alice, topic))
    [request] = hub_requests(httpserver, "/new-hub")
    assert request["hub.mode"] == "subscribe" and request["hub.topic"] == topic and request["hub.secret"] == row.secret
    assert row.state == State.PENDING


def test_205_an_intent_check_for_another_topic_or_mode_is_refused_and_changes_nothing(httpserver, alice, client, committed):
    topic = serve_feed(httpserver)
    hub_accepts(httpserver)
    row = polled(committed, followed(alice, topic))
    assert verify(client, row, topic="https://evil.example/feed").status_code == 404
    assert verify(client, row, mode="unsubscribe").status_code == 404  # Chorus asked to subscribe
    assert client.get("/websub/not-a-token/", {"hub.mode": "subscribe", "hub.topic": topic, "hub.challenge": "x"}).status_code == 404
    row.refresh_from_db()
    assert row.state == State.PENDING and row.expires_at is None


def test_a_denial_is_recorded_with_the_hub_s_reason(httpserver, alice, client, committed):
    topic = serve_feed(httpserver)
    hub_accepts(httpserver)
    row = polled(committed, followed(alice, topic))
    response = client.get(callback_path(row), {"hub.mode": "denied", "hub.topic": topic, "hub.reason": "not on my watch"})
    row.refresh_from_db()
    assert response.status_code == 200 and row.state == State.DENIED and row.reason == "not on my watch"


def test_a_hub_that_refuses_leaves_the_error_and_a_retry(httpserver, alice, committed):
    topic = serve_feed(httpserver)
    hub_accepts(httpserver, status=400)
    row = polled(committed, followed(alice, topic))
    assert row.state == State.ERROR and "HTTP 400" in row.reason and row.next_action_at > timezone.now()


def test_without_a_public_url_push_is_off_and_the_source_page_says_why(httpserver, alice, client, committed, settings):
    settings.CHORUS_PUBLIC_URL = ""
    topic = serve_feed(httpserver)
    hub_accepts(httpserver)
    source = followed(alice, topic)
    row = polled(committed, source)
    assert row.state == State.OFF and hub_requests(httpserver) == []
    client.force_login(alice)
    page = client.get(f"/sources/{source.pk}/").content.decode()
    assert 'data-websub-state="off"' in page and "CHORUS_PUBLIC_URL is not set" in page


def test_300_a_signed_fat_ping_goes_through_the_pipeline_to_the_timeline(active, alice, client):
    body = rss(("b", "pushed post"))
    for algorithm in ("sha1", "sha384", "sha512"):
        assert deliver(client, active, body, **signed(body, active.secret, algorithm)).status_code == 200
    post = Post.objects.get(guid="b")
    assert post.title == "pushed post" and TimelineEntry.objects.filter(user=alice, post=post).exists()
    active.refresh_from_db()
    assert active.deliveries == 3 and active.last_delivery_at is not None


def fat_ping(*entries: tuple[str, str, str]) -> bytes:
    """An Atom fat ping; each entry is (id, updated, text)."""
    body = "".join(f"<entry><id>{entry_id}</id><title>{entry_id}</title><updated>{updated}</updated>"
                   f"<content type='text'>{text}</content></entry>" for entry_id, updated, text in entries)  # fmt: skip
    return f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{body}</feed>'.encode()


def test_fat_pings_that_repeat_known_entries_store_the_new_one_and_the_edited_one_once(active, alice, client):
    pings = [fat_ping(("b", "2026-11-23T10:01:00Z", "bee"), ("a", "2026-11-23T10:00:00Z", "before")),
             fat_ping(("c", "2026-11-23T10:02:00Z", "sea"), ("b", "2026-11-23T10:01:00Z", "bee"),
                      ("a", "2026-11-23T12:00:00Z", "after"))]  # fmt: skip
    for body in [*pings, pings[-1]]:
        assert client.post(callback_path(active), body, content_type=ATOM, **signed(body, active.secret)).status_code == 200
    posts = Post.objects.filter(source=active.source)
    assert sorted(posts.values_list("guid", flat=True)) == ["a", "b", "c"]
    assert posts.get(guid="a").text == "after" and posts.get(guid="a").updated.hour == 12
    assert TimelineEntry.objects.filter(user=alice, post__in=posts).count() == 3
    active.refresh_from_db()
    assert active.deliveries == 3 and active.last_delivery_at == Source.objects.get(pk=active.source_id).last_success_at


def test_the_entries_one_worker_parsed_reach_the_other_workers_through_redis(active, client, settings):
    assert settings.REDIS_URL  # the suite's real Redis
    ids = [f"urn:uuid:{uuid.uuid4()}" for _ in range(3)]
    first = fat_ping((ids[1], "2026-11-23T10:01:00Z", "bee"), (ids[0], "2026-11-23T10:00:00Z", "ay"))
    assert client.post(callback_path(active), first, content_type=ATOM, **signed(first, active.secret)).status_code == 200
    another_worker = KnownEntries(shared=websub_deliveries.RedisEntries(), version=parser_version())
    later = fat_ping((ids[2], "2026-11-23T10:02:00Z", "sea"), (ids[1], "2026-11-23T10:01:00Z", "bee"),
                     (ids[0], "2026-11-23T10:00:00Z", "ay"))  # fmt: skip
    parsed = parse(later, base_url=active.topic_url, content_type=ATOM, known=another_worker)
    assert parsed == parse(later, base_url=active.topic_url, content_type=ATOM)
    assert len(another_worker.held) == 3 and len(another_worker.unshared) == 1  # it parsed the new entry only
    another_worker.share()
    redis = shared_redis.client()
    kept = redis.keys(shared_redis.key("chorus:entries:*"))
    assert len(kept) >= 3 and all(0 < redis.ttl(key) <= websub_deliveries.SHARED_ENTRY_SECONDS for key in kept)


def test_a_fat_ping_s_tombstone_deletes_its_post_and_nothing_the_ping_leaves_out(active, alice, client):
    older, newer = "https://a.example/posts/older", "https://a.example/posts/newer"
    for body in (atom(older, newer), atom(newer), atom(deleted=(newer,))):
        response = client.post(callback_path(active), body, content_type=ATOM, **signed(body, active.secret))
        assert response.status_code == 200
    assert Post.objects.get(guid=newer).retracted_at is not None
    assert TimelineEntry.objects.filter(user=alice, post__guid=older).exists()
    assert not TimelineEntry.objects.filter(user=alice, post__guid=newer).exists()


def test_an_unsigned_tombstone_deletes_nothing(active, alice, client):
    body = atom("https://a.example/posts/one")
    client.post(callback_path(active), body, content_type=ATOM, **signed(body, active.secret))
    forged = atom(deleted=("https://a.example/posts/one",))
    assert client.post(callback_path(active), forged, content_type=ATOM).status_code == 202
    assert TimelineEntry.objects.filter(user=alice, post__guid="https://a.example/posts/one").exists()


DRAINER = "aggregator.tasks.drain_websub_deliveries"


@pytest.fixture
def queued(monkeypatch):
    """Tasks as production runs them (a broker, workers): what the callback queues is kept, not run."""
    messages = []
    monkeypatch.setattr(jobs, "runs_inline", lambda: False)
    monkeypatch.setattr(jobs, "enqueue", lambda name, *args, **_: messages.append((name, args)))
    return messages


def test_with_workers_a_verified_delivery_is_answered_202_and_stored_once_by_the_task(active, alice, client, queued):
    body = rss(("b", "pushed post"), ("é", "not ASCII: the body survives the broker's JSON"))
    response = deliver(client, active, body, **signed(body, active.secret))
    assert response.status_code == 202 and not Post.objects.filter(guid="b").exists()  # not parsed in the request
    forged = rss(("forged", "forged post"))
    assert deliver(client, active, forged, HTTP_X_HUB_SIGNATURE="sha256=" + "0" * 64).status_code == 202
    [(name, args)] = queued  # the forged one is not queued
    assert name == DRAINER
    # A broker may hand a message twice (acks late): the second finds nothing waiting.
    assert [drain_websub_deliveries(*json.loads(json.dumps(args))) for _ in range(2)] == [1, 0]
    new = Post.objects.filter(guid__in=["b", "é", "forged"])
    assert sorted(new.values_list("guid", flat=True)) == ["b", "é"]
    assert TimelineEntry.objects.filter(user=alice, post__in=new).count() == 2
    active.refresh_from_db()
    assert active.deliveries == 1 and active.rejected == 1 and active.last_delivery_at is not None


def test_with_workers_a_queued_thin_ping_queues_a_poll_and_proves_a_silent_hub(active, client, queued, committed):
    WebSubSubscription.objects.filter(pk=active.pk).update(state=State.SILENT, reason="a poll found 1 post")
    assert deliver(client, active, b"", **signed(b"", active.secret)).status_code == 202
    with committed():
        drain_websub_deliveries(*queued[0][1])
    assert queued[1] == ("aggregator.tasks.poll_source", (active.source_id,))
    active.refresh_from_db()
    assert active.state == State.ACTIVE and active.deliveries == 1


def test_a_queued_delivery_for_a_subscription_gone_meanwhile_stores_nothing(active, client, queued):
    body = rss(("b", "pushed post"))
    assert deliver(client, active, body, **signed(body, active.secret)).status_code == 202
    active.delete()
    drain_websub_deliveries(*queued[0][1])
    assert not Post.objects.filter(guid="b").exists()


@pytest.mark.parametrize("headers", [{"HTTP_X_HUB_SIGNATURE": "sha256=" + "0" * 64}, {}], ids=["301-bad", "302-unsigned"])
def test_301_302_a_delivery_without_a_valid_signature_stores_nothing_and_is_answered_2xx(active, client, headers):
    body = rss(("forged", "forged post"))
    response = deliver(client, active, body, **headers)
    active.refresh_from_db()
    assert 200 <= response.status_code < 300 and not Post.objects.filter(guid="forged").exists()
    assert active.rejected == 1 and active.deliveries == 0


def test_a_thin_ping_fetches_the_feed(active, httpserver, client, committed):
    httpserver.clear()
    serve_feed(httpserver, body=rss(("a", "first"), ("c", "fetched after a thin ping")))
    with committed():
        assert deliver(client, active, b"", **signed(b"", active.secret)).status_code == 200
    assert Post.objects.filter(guid="c").exists()


def test_oversized_and_flooding_deliveries_are_capped(active, client, settings):
    settings.CHORUS_WEBSUB_MAX_BYTES = 1000
    body = rss(("big", "x" * 2000))
    assert deliver(client, active, body, **signed(body, active.secret)).status_code == 413
    settings.CHORUS_WEBSUB_DELIVERIES_PER_MINUTE = 2
    small = rss(("s", "small"))
    statuses = [deliver(client, active, small, **signed(small, active.secret)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429] and not Post.objects.filter(guid="big").exists()


def test_a_delivery_for_no_subscription_is_gone(client):
    assert client.post("/websub/nobody/", b"<rss/>", content_type=RSS).status_code == 410


def test_the_last_unfollow_unsubscribes_and_the_hub_s_check_ends_it(active, alice, bob, httpserver, client, committed):
    Subscription.objects.create(user=bob, source=active.source)
    with committed():
        unsubscribe(user=bob, subscription_id=Subscription.objects.get(user=bob).pk)
    assert [r["hub.mode"] for r in hub_requests(httpserver)] == ["subscribe"]
    with committed():
        unsubscribe(user=alice, subscription_id=Subscription.objects.get(user=alice).pk)
    last = hub_requests(httpserver)[-1]
    assert last["hub.mode"] == "unsubscribe" and last["hub.topic"] == active.topic_url and "hub.secret" not in last
    assert verify(client, active, mode="subscribe").status_code == 404  # no longer asked for
    assert verify(client, active, mode="unsubscribe", challenge="bye").content == b"bye"
    assert not WebSubSubscription.objects.filter(pk=active.pk).exists()


def test_the_sweep_renews_a_lease_before_it_runs_out(active, httpserver, client):
    assert active.next_action_at < active.expires_at
    assert websub.sweep(now=active.next_action_at + timedelta(seconds=1)) == 1
    assert [r["hub.mode"] for r in hub_requests(httpserver)] == ["subscribe", "subscribe"]
    assert verify(client, active, lease="7200").status_code == 200
    active.refresh_from_db()
    assert active.expires_at - timezone.now() > timedelta(seconds=7100) and active.state == State.ACTIVE


def test_a_silent_hub_drops_the_source_back_to_normal_polling_until_it_delivers_again(active, httpserver, client, committed,
                                                                                    settings):  # fmt: skip
    settings.CHORUS_POLL_MAX_SECONDS = 3600  # the normal interval, well below the safety net's six hours
    source = Source.objects.get(pk=active.source_id)
    polled(committed, source)
    source.refresh_from_db()
    assert source.next_poll_at - timezone.now() >= timedelta(hours=5)  # pushed: only the safety net
    httpserver.clear()
    serve_feed(httpserver, body=rss(("a", "first"), ("missed", "the hub never sent this")))
    row = polled(committed, source)
    source.refresh_from_db()
    assert row.state == State.SILENT and "1 post the hub never sent" in row.reason
    assert source_status_json(source)["websub"]["state"] == "silent"  # what the source.status event carries
    assert source.next_poll_at - timezone.now() <= timedelta(hours=1.1)
    client.force_login(source.subscriptions.first().user)
    assert "the hub never sent" in client.get(f"/sources/{source.pk}/").content.decode()
    body = rss(("d", "the hub is back"))
    deliver(client, row, body, **signed(body, row.secret))
    row.refresh_from_db()
    assert row.state == State.ACTIVE and row.reason == ""


def test_the_api_shows_the_push_state(active, alice, client):
    client.force_login(alice)
    [subscription] = client.get("/api/v1/subscriptions").json()
    assert subscription["source"]["websub"]["state"] == "active"
    assert subscription["source"]["websub"]["hub"] == active.hub_url and subscription["source"]["websub"]["active_until"]


@pytest.mark.django_db(transaction=True)
def test_the_embedded_runner_and_celery_beat_both_sweep_leases_that_are_due(httpserver, alice, settings):
    assert "aggregator.tasks.sweep_websub" in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    topic = serve_feed(httpserver)
    hub_accepts(httpserver)
    source = followed(alice, topic)
    Source.objects.filter(pk=source.pk).update(next_poll_at=None)
    now = timezone.now()
    WebSubSubscription.objects.create(source=source, hub_url=httpserver.url_for("/hub"), topic_url=topic, secret="s",
                                      callback_token="renew-me", state=State.ACTIVE, expires_at=now + timedelta(hours=1),
                                      next_action_at=now - timedelta(seconds=1))  # fmt: skip
    runner = EmbeddedScheduler(workers=2)
    try:
        runner.tick()
        concurrent.futures.wait(runner._running, timeout=30)
    finally:
        runner.stop()
    [renewal] = hub_requests(httpserver)
    assert renewal["hub.mode"] == "subscribe" and renewal["hub.callback"] == f"{PUBLIC}/websub/renew-me/"


def test_a_hub_on_a_private_address_is_refused_by_the_fetch_guard(httpserver, alice, settings):
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False  # the hub is an address a feed supplied, like any other fetch
    hub_accepts(httpserver)
    source = followed(alice, "https://dora.example.org/feed.xml")
    row = WebSubSubscription.objects.create(source=source, hub_url=httpserver.url_for("/hub"), topic_url=source.url,
                                            secret="s", callback_token="guarded", state=State.PENDING)  # fmt: skip
    assert websub.send_request(subscription_id=row.pk) == "failed"
    row.refresh_from_db()
    assert row.state == State.ERROR and "private" in row.reason.lower() and httpserver.log == []


# -- deliveries taken in front of Django (aggregator.asgi: LeanDeliveries), the subscription held by token, and
#    deliveries that queued up stored together


def asgi_deliver(row, body: bytes, *, secret: str | None = None, declare_length=True, chunks=None):
    headers = {"Content-Type": RSS, "Host": "127.0.0.1"}
    if secret is not None:
        headers["X-Hub-Signature"] = signed(body, secret)["HTTP_X_HUB_SIGNATURE"]
    if declare_length:
        headers["Content-Length"] = str(len(body))
    return asgi_post(application, callback_path(row), chunks=chunks or [body], headers=headers)


@pytest.mark.django_db(transaction=True)  # the lean door reads in a thread of its own: it sees committed rows
def test_the_lean_door_queues_a_signed_delivery_without_django_s_request_stack(active, alice, queued):
    body = rss(("b", "pushed post"))
    status, headers, answer = asgi_deliver(active, body, secret=active.secret)
    assert (status, answer) == (202, {"detail": "queued"})
    assert "x-frame-options" not in headers  # Django's middleware never saw it
    [(name, args)] = queued
    assert name == DRAINER and not Post.objects.filter(guid="b").exists()
    assert drain_websub_deliveries(*args) == 1
    assert TimelineEntry.objects.filter(user=alice, post__guid="b").exists()


@pytest.mark.django_db(transaction=True)
def test_the_lean_door_refuses_oversized_bodies_before_reading_them_and_stores_nothing(active, queued, settings):
    settings.CHORUS_WEBSUB_MAX_BYTES = 1000
    big = rss(("big", "x" * 2000))
    status, headers, _ = asgi_deliver(active, big, secret=active.secret)  # declared too long: nothing read
    assert status == 413 and headers["connection"] == "close"
    chunked = [big[:600], big[600:1200], big[1200:]]  # no length declared: refused once past the cap
    status, headers, _ = asgi_deliver(active, big, secret=active.secret, declare_length=False, chunks=chunked)
    assert status == 413 and headers["connection"] == "close"
    assert queued == [] and not Post.objects.filter(guid="big").exists()


@pytest.mark.django_db(transaction=True)
def test_the_lean_door_answers_2xx_to_bad_signatures_stores_nothing_and_counts_them(active, queued):
    forged = rss(("forged", "forged post"))
    assert asgi_deliver(active, forged, secret="not the secret")[0] == 202
    assert asgi_deliver(active, forged)[2] == {"detail": "ignored"}  # unsigned
    active.refresh_from_db()
    assert active.rejected == 2 and queued == [] and not Post.objects.filter(guid="forged").exists()


@pytest.mark.django_db(transaction=True)
def test_the_lean_door_answers_410_to_unknown_tokens_and_caps_the_rate(active, queued, settings):
    settings.CHORUS_WEBSUB_DELIVERIES_PER_MINUTE = 1
    body = rss(("s", "small"))
    assert asgi_post(application, "/websub/nobody/", chunks=[body], headers={"Content-Type": RSS})[0] == 410
    assert asgi_deliver(active, body, secret=active.secret)[0] == 202
    status, headers, _ = asgi_deliver(active, body, secret=active.secret)
    assert status == 429 and headers["retry-after"] == "60"


@pytest.mark.django_db(transaction=True)
def test_the_lean_door_leaves_other_posts_under_websub_to_django_such_as_our_own_hub(queued):
    form = {"Content-Type": "application/x-www-form-urlencoded", "Host": "127.0.0.1"}
    status, headers, answer = asgi_post(application, "/websub/hub/", chunks=[b"hub.mode=subscribe"], headers=form)
    assert (status, "x-frame-options" in headers) == (400, True)  # the hub's own answer, through Django
    assert "hub.callback" in answer


def test_a_held_subscription_is_forgotten_when_the_hub_ends_it(active, alice, client, httpserver, committed):
    body = rss(("b", "pushed post"))
    assert deliver(client, active, body, **signed(body, active.secret)).status_code == 200  # now held
    with committed():
        unsubscribe(user=alice, subscription_id=Subscription.objects.get(user=alice).pk)
    assert verify(client, active, mode="unsubscribe", challenge="bye").content == b"bye"
    later = rss(("c", "after the unsubscribe"))
    assert deliver(client, active, later, **signed(later, active.secret)).status_code == 410


def test_a_held_secret_gives_way_to_a_new_one(active, client, httpserver):
    """A new hub means a new secret; a secret changed in bulk (no save) is found when the held one refuses."""
    body = rss(("b", "pushed post"))
    assert deliver(client, active, body, **signed(body, active.secret)).status_code == 200  # the secret is held
    websub.adopt_hub(source_id=active.source_id, links=websub.websub.WebSubLinks(
        hubs=(httpserver.url_for("/other-hub"),), topic=active.topic_url))  # fmt: skip
    renewed = WebSubSubscription.objects.get(pk=active.pk)
    assert renewed.secret != active.secret
    old = rss(("old", "signed with the old secret"))
    assert deliver(client, active, old, **signed(old, active.secret)).status_code == 202  # ignored
    new = rss(("new", "signed with the new secret"))
    assert deliver(client, active, new, **signed(new, renewed.secret)).status_code == 200
    WebSubSubscription.objects.filter(pk=active.pk).update(secret="changed-without-a-save")  # no signal
    bulk = rss(("bulk", "signed with a secret changed in bulk"))
    assert deliver(client, active, bulk, **signed(bulk, "changed-without-a-save")).status_code == 200
    stored = Post.objects.filter(guid__in=["old", "new", "bulk"]).values_list("guid", flat=True)
    assert sorted(stored) == ["bulk", "new"]


def test_deliveries_that_queued_up_are_stored_by_one_task_the_newest_version_winning(active, alice, client, queued):
    first = rss(("a", "first, edited once"), ("n1", "one"))
    second = rss(("a", "first, edited twice"), ("n2", "two"))
    for body in (first, second):
        assert deliver(client, active, body, **signed(body, active.secret)).status_code == 202
    [(name, args)] = queued  # one task for both
    assert drain_websub_deliveries(*args) == 2
    assert Post.objects.get(source=active.source, guid="a").title == "first, edited twice"
    assert TimelineEntry.objects.filter(user=alice, post__guid__in=["n1", "n2"]).count() == 2
    active.refresh_from_db()
    assert active.deliveries == 2
    third = rss(("n3", "three"))
    assert deliver(client, active, third, **signed(third, active.secret)).status_code == 202
    assert len(queued) == 2  # the task lowered the flag as it found nothing more: the next delivery queues one
    assert drain_websub_deliveries(*queued[-1][1]) == 1


def test_deliveries_left_without_a_task_are_queued_again_by_the_sweep(active, client, queued):
    from aggregator.db import shared_redis

    body = rss(("b", "pushed post"))
    assert deliver(client, active, body, **signed(body, active.secret)).status_code == 202
    assert websub.sweep(now=timezone.now()) == 0  # its task holds it
    redis = shared_redis.client()
    # Its drainer's message was lost: the subscription's flag and the drainer's slot ran out.
    redis.delete(shared_redis.key(f"chorus:websub:draining:{active.pk}"), shared_redis.key("chorus:websub:drainers"))
    assert websub.sweep(now=timezone.now()) == 1
    assert queued[-1][0] == DRAINER
    assert drain_websub_deliveries(*queued[-1][1]) == 1 and Post.objects.filter(guid="b").exists()


def test_deliveries_for_many_subscriptions_queue_a_drainer_per_free_slot_not_a_task_each(
        httpserver, alice, client, committed, queued, settings):  # fmt: skip
    settings.CHORUS_WEBSUB_DRAINERS = 2
    rows = [made_active(httpserver, alice, client, committed, path=f"/feed-{n}.xml") for n in range(3)]
    del queued[:]  # the polls' own tasks
    for n, row in enumerate(rows):
        body = rss((f"p{n}", f"post {n}"))
        assert deliver(client, row, body, **signed(body, row.secret)).status_code == 202
    assert [name for name, _ in queued] == [DRAINER, DRAINER]  # the third found both slots taken
    assert drain_websub_deliveries(*queued[0][1]) == 3  # the first stores them all, in turn
    assert drain_websub_deliveries(*queued[1][1]) == 0  # nothing left: it gives its slot up at once
    assert TimelineEntry.objects.filter(user=alice, post__guid__in=["p0", "p1", "p2"]).count() == 3
    later = rss(("later", "after the drainers ended"))
    assert deliver(client, rows[0], later, **signed(later, rows[0].secret)).status_code == 202
    assert len(queued) == 3 and drain_websub_deliveries(*queued[2][1]) == 1  # a free slot: a new drainer


def test_a_drainer_takes_subscriptions_in_turn_and_hands_over_when_its_turn_ends(queued, settings):
    """One batch a subscription, then the next runnable one; a successor queued behind the worker's other tasks
    while any is runnable, the slot given up when none is. A slot whose drainer died runs out."""
    from aggregator.db import shared_redis
    from aggregator.ingest import websub_waiting

    settings.CHORUS_WEBSUB_DRAINERS = 1
    now = timezone.now()
    for n in range(websub_waiting.BATCH + 1):
        websub_waiting.add(1, body=f"one {n}".encode(), content_type=RSS, received_at=now)
    websub_waiting.add(2, body=b"two", content_type=RSS, received_at=now)
    [(name, (token,))] = queued  # subscription 2 found the one slot taken
    stored = []

    def store(subscription_id, batch):
        stored.append((subscription_id, [delivery.body for delivery in batch]))

    assert websub_waiting.run_drainer(token, store, slice_seconds=0) == websub_waiting.BATCH
    assert queued[-1] == (DRAINER, (token,))  # its turn ended with work left: a successor in its slot
    assert websub_waiting.run_drainer(token, store, slice_seconds=0) == 1
    assert websub_waiting.run_drainer(token, store, slice_seconds=0) == 1
    assert [(n, len(bodies)) for n, bodies in stored] == [(1, websub_waiting.BATCH), (2, 1), (1, 1)]
    assert stored[1][1] == [b"two"] and stored[2][1] == [f"one {websub_waiting.BATCH}".encode()]
    drainers = shared_redis.key("chorus:websub:drainers")
    assert len(queued) == 3 and shared_redis.client().zcard(drainers) == 0  # nothing runnable: slot given up
    shared_redis.client().zadd(drainers, {"died": 0})  # a drainer killed holding the one slot, long ago
    websub_waiting.add(3, body=b"three", content_type=RSS, received_at=now)
    assert len(queued) == 4 and queued[-1][0] == DRAINER


def test_a_drainer_waits_a_little_for_more_so_a_steady_stream_queues_no_task_a_delivery(queued, settings):
    import threading

    from aggregator.ingest import websub_waiting

    settings.CHORUS_WEBSUB_DRAINERS = 1
    now = timezone.now()
    websub_waiting.add(1, body=b"first", content_type=RSS, received_at=now)
    [(_, (token,))] = queued
    stored, first_stored = [], threading.Event()

    def store(subscription_id, batch):
        stored.extend((subscription_id, delivery.body) for delivery in batch)
        first_stored.set()

    drainer = threading.Thread(target=websub_waiting.run_drainer, args=(token, store))
    drainer.start()
    assert first_stored.wait(10)
    websub_waiting.add(2, body=b"second", content_type=RSS, received_at=now)  # the drainer holds the one slot
    drainer.join(10)
    assert not drainer.is_alive() and stored == [(1, b"first"), (2, b"second")] and len(queued) == 1


def test_the_sweep_queues_a_drainer_for_runnable_deliveries_whose_drainer_died(active, client, queued):
    from aggregator.db import shared_redis

    body = rss(("b", "pushed post"))
    assert deliver(client, active, body, **signed(body, active.secret)).status_code == 202
    [(_, (token,))] = queued
    assert websub.sweep(now=timezone.now()) == 0  # its drainer holds a slot
    shared_redis.client().zadd(shared_redis.key("chorus:websub:drainers"), {token: 0})  # it died: the slot ran out
    assert websub.sweep(now=timezone.now()) == 1 and queued[-1][1] != (token,)
    assert drain_websub_deliveries(*queued[-1][1]) == 1 and Post.objects.filter(guid="b").exists()


def test_a_task_that_earlier_versions_queued_for_one_subscription_still_stores_what_waits(active, alice, client,
                                                                                          queued):  # fmt: skip
    """Messages still in the broker at an upgrade: one subscription's deliveries, stored once."""
    body = rss(("b", "pushed post"))
    assert deliver(client, active, body, **signed(body, active.secret)).status_code == 202
    assert store_websub_deliveries(active.pk) == 1
    assert TimelineEntry.objects.filter(user=alice, post__guid="b").exists()
    assert drain_websub_deliveries(*queued[0][1]) == 0  # the drainer finds nothing left to store


def test_a_delivery_queued_with_its_body_in_the_message_is_still_stored(active, alice):
    """As versions before the waiting lists queued them: messages still in the broker at an upgrade."""
    body = rss(("b", "pushed post"))
    args = [active.pk, base64.b64encode(body).decode("ascii"), RSS, timezone.now().isoformat()]
    assert store_websub_delivery(*args) == 1
    assert TimelineEntry.objects.filter(user=alice, post__guid="b").exists()
