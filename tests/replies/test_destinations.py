"""Notification destinations (Apprise URLs) against real loopback peers: an HTTP server receiving json://,
form:// and ntfy:// posts, a real SMTP server (aiosmtpd) receiving mailto://. Tasks run inline, as in the
embedded hub; the sweeps take ``now`` so quiet hours, digests and back-offs are checked at chosen moments.
"""

import json
import logging
import socket
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from accounts.identities import identity_create
from aggregator.content.entry import Entry
from aggregator.fetch import RefusedConnection, guarded_connections
from aggregator.following.imports import start_import
from aggregator.ingest.pipeline import ingest
from aggregator.ingest.polling import poll_source
from aggregator.models import Source, Subscription
from replies.destination_delivery import MAX_BACKOFF, backoff, send_due
from replies.destinations import destination_create
from replies.models import Destination, DestinationMessage
from replies.notification_settings import notification_settings_update
from tracks.services import track_create, track_set_alert

from tests.servers.notify_peers import HttpPeer, SmtpPeer

pytestmark = pytest.mark.django_db
SECRETS = ("s3cretPass", "T0kenXYZ123", "QueryS3cret")


@pytest.fixture
def peer():
    with HttpPeer() as running:
        yield running


@pytest.fixture
def carol_feed():
    return Source.objects.create(address="https://carol.example/feed", url="https://carol.example/feed", title="carol's")


@pytest.fixture
def alice_known(alice, settings):
    settings.CHORUS_PUBLIC_URL = "https://hub.example"
    identity_create(user=alice, kind="fediverse", value="@alice@example.social", verified=True)
    return alice


def carol_posts(source: Source, guid: str, words: str) -> int:
    entry = Entry(guid=guid, url=f"https://carol.example/{guid}", author_name="Carol", author_handle="@carol@carol.example",
                  content_html=f"<p>{words}</p>", base_url=source.url)  # fmt: skip
    [post_id] = ingest(source, [entry]).created
    return post_id


def api(client, method: str, path: str, body: dict | None = None):
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    return getattr(client, method)(f"/api/v1{path}", **kwargs)


def test_a_reply_reaches_json_form_and_ntfy_destinations_with_its_link(alice_known, carol_feed, peer, committed):
    for scheme, path in (("json", "/hook"), ("form", "/form"), ("ntfy", "/alerts")):
        destination_create(user=alice_known, name=scheme, url=f"{scheme}://127.0.0.1:{peer.port}{path}", events=["reply"])
    with committed():
        carol_posts(carol_feed, "1", "@alice@example.social lunch on Friday?")
    by_path = {message.path: message.fields for message in peer.received.wait_for(3)}
    assert set(by_path) == {"/hook", "/form", "/"}  # ntfy posts its topic in the body, to the server's root
    assert by_path["/"]["topic"] == "alerts"
    for fields in by_path.values():
        assert fields["title"] == "Carol mentions you"
        assert "lunch on Friday?" in fields["message"] and "https://carol.example/1" in fields["message"]
        assert "https://hub.example/replies/" in fields["message"]  # the link to it on the hub
    assert DestinationMessage.objects.filter(sent_at__isnull=True).count() == 0


def test_an_email_destination_reaches_a_real_smtp_server(alice_known, carol_feed, committed):
    with SmtpPeer() as smtp:
        destination_create(user=alice_known, name="mail", events=["reply"],
                           url=f"mailto://127.0.0.1:{smtp.port}?from=hub@chorus.test&to=alice@example.org")  # fmt: skip
        with committed():
            carol_posts(carol_feed, "1", "@alice@example.social see you there")
        [mail] = smtp.received.wait_for(1)
    assert mail.fields["to"] == ["alice@example.org"] and mail.fields["title"] == "Carol mentions you"
    assert "see you there" in mail.fields["message"] and "https://hub.example/replies/" in mail.fields["message"]


def test_quiet_hours_hold_messages_then_send_them_folded_into_one(alice_known, carol_feed, peer, committed):
    now = timezone.now().astimezone(UTC)
    notification_settings_update(user=alice_known, method="none", time_zone="UTC",
                                 quiet_start=(now - timedelta(hours=1)).time(), quiet_end=(now + timedelta(hours=1)).time())  # fmt: skip
    destination_create(user=alice_known, name="hook", url=f"json://127.0.0.1:{peer.port}/hook", events=["reply"])
    with committed():
        carol_posts(carol_feed, "1", "@alice@example.social first")
        carol_posts(carol_feed, "2", "@alice@example.social second")
    assert send_due() == 0 and peer.received.messages == []
    assert send_due(now=now + timedelta(hours=1, minutes=1)) == 2
    [message] = peer.received.wait_for(1)
    assert message.fields["title"] == "2 new on Chorus"
    assert "first" in message.fields["message"] and "second" in message.fields["message"]


def test_an_hourly_track_digest_waits_for_the_hour_and_lists_every_match(alice, carol_feed, peer, committed):
    track = track_create(user=alice, query="chorus")
    track_set_alert(user=alice, track_id=track.pk, alert="hourly")
    destination_create(user=alice, name="hook", url=f"json://127.0.0.1:{peer.port}/hook", events=["track"])
    with committed():
        carol_posts(carol_feed, "1", "Chorus reads feeds")
        carol_posts(carol_feed, "2", "chorus reads XMPP too")
    [due] = set(DestinationMessage.objects.values_list("due_at", flat=True))
    assert due.minute == 0 and due > timezone.now() and peer.received.messages == []
    assert send_due(now=due - timedelta(seconds=1)) == 0
    assert send_due(now=due) == 2
    [message] = peer.received.wait_for(1)
    assert message.fields["title"] == "2 new on Chorus" and message.fields["message"].count("“chorus”: Carol") == 2


def test_a_failing_destination_backs_off_then_is_paused_with_the_reason(alice_known, carol_feed, peer, committed,
                                                                        client, settings):  # fmt: skip
    settings.CHORUS_NOTIFY_PAUSE_AFTER = 2
    peer.status = 500
    made = destination_create(user=alice_known, name="hook", url=f"json://127.0.0.1:{peer.port}/hook", events=["reply"])
    with committed():
        carol_posts(carol_feed, "1", "@alice@example.social one")
    peer.received.wait_for(1)
    row = DestinationMessage.objects.get()
    assert row.sent_at is None and row.attempts == 1 and row.due_at > timezone.now() + timedelta(seconds=40)
    assert send_due() == 0 and len(peer.received.messages) == 1  # backing off: not tried again yet
    send_due(now=row.due_at)
    peer.received.wait_for(2)
    client.force_login(alice_known)
    [shown] = api(client, "get", "/destinations").json()
    assert shown["paused"] and "paused after 2 failed sends" in shown["pause_reason"] and "500" in shown["pause_reason"]
    with committed():
        carol_posts(carol_feed, "2", "@alice@example.social two")  # paused: held rows stay, nothing new queued
    assert DestinationMessage.objects.count() == 1
    peer.status = 200
    assert api(client, "patch", f"/destinations/{made.pk}", {"paused": False}).json()["paused"] is False
    send_due(now=timezone.now() + timedelta(days=1))
    assert "one" in peer.received.wait_for(3)[2].fields["message"]


def test_private_addresses_are_refused_when_not_allowed(alice, client, peer, settings):
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    client.force_login(alice)
    for url in (f"json://127.0.0.1:{peer.port}/hook", "form://[::ffff:127.0.0.1]/x", "ntfy://localhost/topic",
                "json://10.1.2.3/hook", "mailto://user:pw@example.com?smtp=192.168.1.1"):  # fmt: skip
        answer = api(client, "post", "/destinations", {"name": "inside", "url": url, "events": ["reply"]})
        assert answer.status_code == 400 and "private address" in answer.json()["detail"], url
    assert not Destination.objects.exists()


def test_a_destination_saved_while_allowed_is_refused_at_send_time_when_no_longer(alice_known, carol_feed, peer,
                                                                                  committed, settings):  # fmt: skip
    made = destination_create(user=alice_known, name="hook", url=f"json://127.0.0.1:{peer.port}/hook", events=["reply"])
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    with committed():
        carol_posts(carol_feed, "1", "@alice@example.social hello")
    made.refresh_from_db()
    assert "private address" in made.last_error and peer.received.messages == []


def test_the_connect_guard_refuses_the_address_actually_connected(peer):
    """What a library connects to (whatever name it resolved) is vetted on the socket itself."""
    with guarded_connections(seconds=5, allow_private=False) as guard, pytest.raises(RefusedConnection):
        socket.create_connection(("127.0.0.1", peer.port), timeout=2)
    assert guard.refused == ["refused: 127.0.0.1 is a private address"]
    socket.create_connection(("127.0.0.1", peer.port), timeout=2).close()  # outside the guard: untouched


def test_secrets_are_never_shown_back_nor_logged(alice_known, carol_feed, peer, client, caplog, committed):
    client.force_login(alice_known)
    url = f"json://bob:s3cretPass@127.0.0.1:{peer.port}/hooks/T0kenXYZ123?token=QueryS3cret"
    with caplog.at_level(logging.DEBUG):
        made = api(client, "post", "/destinations", {"name": "hook", "url": url, "events": ["reply"]})
        assert made.status_code == 201
        peer.status = 500  # a failure's message is shown and logged too
        with committed():
            carol_posts(carol_feed, "1", "@alice@example.social hi")
        peer.received.wait_for(1)
    shown = [json.dumps(made.json()), json.dumps(api(client, "get", "/destinations").json()),
             client.get("/settings/notifications/").content.decode(), caplog.text]  # fmt: skip
    assert "hook" in shown[2] and "Last send failed" in shown[2]
    for text in shown:
        assert not [secret for secret in SECRETS if secret in text], text


def test_the_api_checks_input_and_keeps_people_apart(alice, bob, client, peer, settings):
    client.force_login(alice)
    good = {"name": "hook", "url": f"json://127.0.0.1:{peer.port}/hook", "events": ["reply", "import_done"]}
    made = api(client, "post", "/destinations", good).json()
    assert made["events"] == ["reply", "import_done"] and made["url"] == f"json://127.0.0.1:{peer.port}/ho…"
    assert "unknown events" in api(client, "post", "/destinations", {**good, "events": ["everything"]}).json()["detail"]
    assert "not offered" in api(client, "post", "/destinations", {**good, "url": "file:///etc/passwd"}).json()["detail"]
    settings.CHORUS_NOTIFY_SCHEMES = ["ntfy"]
    assert "not offered" in api(client, "post", "/destinations", good).json()["detail"]
    client.force_login(bob)
    assert api(client, "patch", f"/destinations/{made['id']}", {"name": "mine"}).status_code == 404
    assert api(client, "post", f"/destinations/{made['id']}/test").status_code == 404
    assert api(client, "delete", f"/destinations/{made['id']}").status_code == 404
    assert api(client, "get", "/destinations").json() == []


def test_the_test_button_shows_its_result_on_the_page(alice, client, peer, committed):
    client.force_login(alice)
    made = destination_create(user=alice, name="phone", url=f"ntfy://127.0.0.1:{peer.port}/me", events=["reply"])
    page = f"/settings/notifications/destinations/{made.pk}/"
    with committed():
        client.post(page, {"action": "test"})
    answer = client.get("/settings/notifications/")
    [message] = peer.received.wait_for(1)
    assert message.fields["title"] == "Chorus test message" and "phone" in message.fields["message"]
    assert '<span class="ok">sent</span>' in answer.content.decode()
    peer.status = 500
    with committed():
        client.post(page, {"action": "test"})
    answer = client.get("/settings/notifications/")
    assert "500" in answer.content.decode().split("Test at", 1)[1].split("</p>", 1)[0]
    assert Destination.objects.get().failures == 0  # a failed test is shown, not counted towards a pause


def test_a_destination_gets_at_most_its_rate_per_minute(alice_known, carol_feed, peer, committed, settings):
    settings.CHORUS_NOTIFY_PER_MINUTE = 1
    destination_create(user=alice_known, name="hook", url=f"json://127.0.0.1:{peer.port}/hook", events=["reply"])
    for guid in ("1", "2"):
        with committed():
            carol_posts(carol_feed, guid, f"@alice@example.social number {guid}")
    peer.received.wait_for(1)
    assert len(peer.received.messages) == 1
    assert DestinationMessage.objects.filter(sent_at__isnull=True).count() == 1  # left for the next minute


def test_a_source_failing_for_a_day_is_told_once(alice, peer, committed, settings):
    settings.CHORUS_PUBLIC_URL = "https://hub.example"
    source = Source.objects.create(address=f"http://127.0.0.1:{peer.port}/feed", url=f"http://127.0.0.1:{peer.port}/feed",
                                   title="Flaky blog")  # fmt: skip
    Source.objects.filter(pk=source.pk).update(created_at=timezone.now() - timedelta(days=2))
    Subscription.objects.create(user=alice, source=source)
    destination_create(user=alice, name="hook", url=f"json://127.0.0.1:{peer.port}/hook", events=["source_failing"])
    for _ in range(2):
        with committed():
            poll_source(source_id=source.pk)  # the peer answers GET with 501
    [message] = peer.received.wait_for(1)
    assert message.fields["title"].startswith("Flaky blog has been failing since")
    assert "501" in message.fields["message"] and f"/sources/{source.pk}/" in message.fields["message"]
    assert DestinationMessage.objects.count() == 1


def test_a_finished_import_is_told(alice, peer, committed):
    destination_create(user=alice, name="hook", url=f"json://127.0.0.1:{peer.port}/hook", events=["import_done"])
    opml = (f'<opml version="2.0"><body><outline type="rss" text="x" xmlUrl="http://127.0.0.1:{peer.port}/feed"/>'
            "</body></opml>").encode()  # fmt: skip
    with committed():
        start_import(user=alice, body=opml)
    [message] = peer.received.wait_for(1)
    assert message.fields["title"] == "Your follow-list import finished"
    assert "1 followed, 0 already followed, 0 failed" in message.fields["message"]


def test_backoff_grows_and_is_capped():
    assert timedelta(seconds=48) <= backoff(1) <= timedelta(seconds=72)
    assert backoff(4) > backoff(2) and backoff(30) <= MAX_BACKOFF * 1.2


def test_a_tracks_alert_is_chosen_on_its_page_and_in_the_api(alice, bob, client):
    track = track_create(user=alice, query="chorus")
    client.force_login(alice)
    assert 'value="daily"' in client.get(f"/tracks/{track.pk}/").content.decode()
    client.post(f"/tracks/{track.pk}/alert/", {"alert": "daily"})
    assert api(client, "get", "/tracks").json()[0]["alert"] == "daily"
    assert api(client, "patch", f"/tracks/{track.pk}", {"alert": "weekly"}).status_code == 400
    assert api(client, "patch", f"/tracks/{track.pk}", {"alert": "hourly"}).json()["alert"] == "hourly"
    client.force_login(bob)
    assert api(client, "patch", f"/tracks/{track.pk}", {"alert": "each"}).status_code == 404
    assert client.post(f"/tracks/{track.pk}/alert/", {"alert": "each"}).status_code == 404
