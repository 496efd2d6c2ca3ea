"""Notifications of new replies: an XMPP chat message received by alice's own client on the suite's Prosody,
email now or as a daily digest (Django's test outbox), quiet hours, blocks, and never twice.

The hub's messages go through a real XMPP session of ``hub@chorus.test``; tasks run inline (as in the embedded
hub). Times: the delivery services take ``now``, so quiet hours and digest hours are checked at chosen moments.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.identities import identity_create
from accounts.tokens import issue_token
from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest
from aggregator.models import Source
from replies.matching import match_posts
from replies.models import Notification, NotificationSettings
from replies.notification_settings import notification_settings_update, quiet_until
from replies.notifications import deliver_due, deliver_pending, listeners
from timelines.blocks import block_create

from tests.servers.processes import wait_for
from tests.servers.xmpp_clients import XmppPerson
from tests.servers.xmpp_server import DOMAIN, PASSWORD, hub_settings

PARIS = ZoneInfo("Europe/Paris")
pytestmark = pytest.mark.django_db


@pytest.fixture
def carol_feed():
    return Source.objects.create(address="https://carol.example/feed", url="https://carol.example/feed", title="carol's")


@pytest.fixture
def alice_known(alice):
    """alice, with a verified fediverse handle that carol's posts mention."""
    identity_create(user=alice, kind="fediverse", value="@alice@example.social", verified=True)
    return alice


def carol_mentions_alice(source: Source, guid: str, words: str = "what do you think?") -> int:
    entry = Entry(guid=guid, url=f"https://carol.example/{guid}", author_name="Carol", author_handle="@carol@carol.example",
                  content_html=f"<p>@alice@example.social {words}</p>", base_url=source.url)  # fmt: skip
    [post_id] = ingest(source, [entry]).created
    return post_id


def outcomes() -> list[str]:
    return list(Notification.objects.order_by("id").values_list("outcome", flat=True))


def test_an_xmpp_notification_reaches_alices_own_client_once(prosody, settings, alice_known, carol_feed, committed):
    hub = hub_settings(settings, prosody, PASSWORD)
    identity_create(user=alice_known, kind="xmpp", value=f"alice@{DOMAIN}", verified=True)
    notification_settings_update(user=alice_known, method="xmpp")
    with XmppPerson(jid=f"alice@{DOMAIN}", password=PASSWORD, port=prosody.port) as phone:
        with committed():
            post_id = carol_mentions_alice(carol_feed, "1", "lunch on Friday?")
            assert outcomes() == [""] and phone.chats == []  # queued with the reply; nothing leaves before commit
        sender, body = wait_for(lambda: phone.chats and phone.chats[0], what="the chat message on alice's client")
        assert sender.split("/")[0] == hub and "/chorus-notify-" in sender
        assert "Carol mentions you (carol's):" in body and "lunch on Friday?" in body and "https://carol.example/1" in body
        assert outcomes() == ["sent"]
        match_posts(post_ids=[post_id])  # the same post matched again
        assert deliver_due() == 0
        assert Notification.objects.count() == 1
        # A later mention is the sentinel: a second message about the first post would have left (each send
        # returns once the server has it) and reached alice's client before the sentinel's.
        with committed():
            carol_mentions_alice(carol_feed, "2", "the sentinel")
        wait_for(lambda: len(phone.chats) >= 2, what="the later mention's chat message")
        assert "lunch on Friday?" in phone.chats[0][1] and "the sentinel" in phone.chats[1][1]
        assert len(phone.chats) == 2 and outcomes() == ["sent", "sent"]


def test_who_wants_notifications_is_known_without_a_query_per_reply_batch(alice_known, carol_feed):
    assert alice_known.pk not in listeners.get()  # the process loads it once (and when it changes)
    with CaptureQueriesContext(connection) as queries:
        carol_mentions_alice(carol_feed, "1")  # alice wants none (no settings row): nothing queued, nothing asked
    assert not [q for q in queries if "notification" in q["sql"]] and Notification.objects.count() == 0
    notification_settings_update(user=alice_known, method="email")  # seen at once, by the settings' own signal
    carol_mentions_alice(carol_feed, "2")
    assert Notification.objects.count() == 1
    # written past the signals (as by a bulk update or another process): seen once the version changes
    NotificationSettings.objects.filter(user=alice_known).update(method="none")
    cache.set(listeners.key, "another process's version")
    carol_mentions_alice(carol_feed, "3")
    assert Notification.objects.count() == 1


def test_an_unreachable_xmpp_server_leaves_the_notification_pending_for_a_later_sweep(settings, alice_known,
                                                                                       carol_feed, committed):  # fmt: skip
    settings.CHORUS_XMPP_JID, settings.CHORUS_XMPP_PASSWORD = f"hub@{DOMAIN}", PASSWORD
    settings.CHORUS_XMPP_HOST, settings.CHORUS_XMPP_PORT, settings.CHORUS_XMPP_TLS = "127.0.0.1", 9, False
    identity_create(user=alice_known, kind="xmpp", value=f"alice@{DOMAIN}", verified=True)
    notification_settings_update(user=alice_known, method="xmpp")
    with committed():
        carol_mentions_alice(carol_feed, "1")
    row = Notification.objects.get()
    assert row.sent_at is None and row.claimed_at is not None  # claimed: retried when the lease runs out
    assert deliver_due() == 0
    assert Notification.objects.get().claimed_at == row.claimed_at  # the lease holds it back: no tight loop
    later = row.claimed_at + timedelta(minutes=6)
    assert deliver_due(now=later) == 0  # tried again (and failed again) once the lease ran out
    assert Notification.objects.get().claimed_at == later and outcomes() == [""]


def test_an_email_is_sent_after_commit_and_only_once(alice_known, carol_feed, committed):
    notification_settings_update(user=alice_known, method="email")
    with committed():
        post_id = carol_mentions_alice(carol_feed, "1", "see you there")
        assert mail.outbox == []
    [message] = mail.outbox
    assert message.to == ["alice@example.org"] and message.subject == "New reply from Carol"
    assert "see you there" in message.body and "https://carol.example/1" in message.body
    with committed():
        match_posts(post_ids=[post_id])
    assert deliver_due() == 0 and len(mail.outbox) == 1 and outcomes() == ["sent"]


def test_nothing_is_sent_for_blocked_authors_even_when_blocked_after_the_reply_came(alice_known, carol_feed, committed):
    notification_settings_update(user=alice_known, method="email")
    block_create(user=alice_known, kind="author", value="@carol@carol.example")
    with committed():
        carol_mentions_alice(carol_feed, "1")
    assert mail.outbox == [] and outcomes() == ["blocked"]


def test_quiet_hours_hold_replies_and_fold_them_into_one_message_after(alice_known, carol_feed):
    notification_settings_update(user=alice_known, method="email", time_zone="Europe/Paris",
                                 quiet_start=datetime(2026, 1, 1, 22).time(), quiet_end=datetime(2026, 1, 1, 7).time())  # fmt: skip
    night = datetime(2026, 11, 24, 23, 30, tzinfo=PARIS)
    carol_mentions_alice(carol_feed, "1", "first")
    carol_mentions_alice(carol_feed, "2", "second")
    assert deliver_due(now=night) == 0 and deliver_due(now=night + timedelta(hours=7)) == 0  # 06:30 Paris
    assert mail.outbox == []
    assert deliver_due(now=night + timedelta(hours=8)) == 2  # 07:30 Paris
    [message] = mail.outbox
    assert message.subject == "2 new replies on Chorus" and "first" in message.body and "second" in message.body


def test_a_block_made_during_quiet_hours_stops_the_held_notification(alice_known, carol_feed):
    notification_settings_update(user=alice_known, method="email", quiet_start=datetime(2026, 1, 1, 22).time(),
                                 quiet_end=datetime(2026, 1, 1, 7).time())  # fmt: skip
    carol_mentions_alice(carol_feed, "1", "buy cheap pills")
    assert deliver_due(now=datetime(2026, 11, 24, 23, tzinfo=UTC)) == 0
    block_create(user=alice_known, kind="word", value="cheap pills")
    deliver_due(now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    assert mail.outbox == [] and outcomes() == ["blocked"]


def test_the_digest_leaves_at_the_digest_hour_with_what_came_before_it(alice_known, carol_feed):
    notification_settings_update(user=alice_known, method="digest", digest_hour=8)
    carol_mentions_alice(carol_feed, "1", "one")
    carol_mentions_alice(carol_feed, "2", "two")
    Notification.objects.update(created_at=datetime(2026, 11, 24, 6, tzinfo=UTC))
    assert deliver_due(now=datetime(2026, 11, 24, 7, 59, tzinfo=UTC)) == 0 and mail.outbox == []
    assert deliver_due(now=datetime(2026, 11, 24, 8, 1, tzinfo=UTC)) == 2
    [digest] = mail.outbox
    assert digest.subject == "Chorus digest: 2 new replies" and "one" in digest.body and "two" in digest.body

    carol_mentions_alice(carol_feed, "3", "three")
    Notification.objects.filter(sent_at__isnull=True).update(created_at=datetime(2026, 11, 24, 9, tzinfo=UTC))
    assert deliver_due(now=datetime(2026, 11, 24, 18, tzinfo=UTC)) == 0  # waits for tomorrow's digest
    assert deliver_due(now=datetime(2026, 11, 25, 8, 0, tzinfo=UTC)) == 1
    assert [m.subject for m in mail.outbox] == ["Chorus digest: 2 new replies", "Chorus digest: 1 new reply"]
    assert NotificationSettings.objects.get(user=alice_known).last_digest_at == datetime(2026, 11, 25, 8, tzinfo=UTC)


def test_a_digest_hour_inside_quiet_hours_waits_for_their_end(alice_known, carol_feed):
    notification_settings_update(user=alice_known, method="digest", digest_hour=8, time_zone="Europe/Paris",
                                 quiet_start=datetime(2026, 1, 1, 7).time(), quiet_end=datetime(2026, 1, 1, 9).time())  # fmt: skip
    carol_mentions_alice(carol_feed, "1")
    Notification.objects.update(created_at=datetime(2026, 11, 24, 5, tzinfo=UTC))
    assert deliver_due(now=datetime(2026, 11, 24, 8, 30, tzinfo=PARIS)) == 0
    assert deliver_due(now=datetime(2026, 11, 24, 9, 1, tzinfo=PARIS)) == 1 and len(mail.outbox) == 1


def test_people_who_chose_none_get_no_rows_and_turning_it_off_drops_what_was_pending(alice_known, bob, carol_feed):
    carol_mentions_alice(carol_feed, "1")
    assert Notification.objects.count() == 0  # alice never chose: nothing queued
    notification_settings_update(user=alice_known, method="email", quiet_start=datetime(2026, 1, 1, 0).time(),
                                 quiet_end=datetime(2026, 1, 1, 23, 59).time())  # fmt: skip
    carol_mentions_alice(carol_feed, "2")
    notification_settings_update(user=alice_known, method="none")
    assert deliver_pending(user_id=alice_known.pk) == 1 and outcomes() == ["off"] and mail.outbox == []


def test_quiet_hours_span_midnight_in_the_persons_time_zone():
    prefs = NotificationSettings(time_zone="Europe/Paris", quiet_start=datetime(2026, 1, 1, 22).time(),
                                 quiet_end=datetime(2026, 1, 1, 7).time())  # fmt: skip
    assert quiet_until(prefs, datetime(2026, 11, 24, 20, 59, tzinfo=UTC)) is None  # 21:59 Paris
    assert quiet_until(prefs, datetime(2026, 11, 24, 21, 0, tzinfo=UTC)) == datetime(2026, 11, 25, 7, tzinfo=PARIS)
    assert quiet_until(prefs, datetime(2026, 11, 25, 5, 0, tzinfo=UTC)) == datetime(2026, 11, 25, 7, tzinfo=PARIS)
    assert quiet_until(prefs, datetime(2026, 11, 25, 6, 0, tzinfo=UTC)) is None  # 07:00 Paris
    assert quiet_until(NotificationSettings(), datetime(2026, 11, 25, 6, tzinfo=UTC)) is None


def test_the_notifications_api_and_page_save_the_choice(client, alice_known):
    token = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice_known, name='t')}"}
    assert client.get("/api/v1/notification-settings", **token).json()["method"] == "none"
    refused = client.put("/api/v1/notification-settings", {"method": "xmpp"}, content_type="application/json", **token)
    assert refused.status_code == 400 and "verify an XMPP address" in refused.json()["detail"]
    bad_zone = client.put("/api/v1/notification-settings", {"method": "email", "time_zone": "Mars/Olympus"},
                          content_type="application/json", **token)  # fmt: skip
    assert bad_zone.status_code == 400 and "time zone" in bad_zone.json()["detail"]
    saved = client.put("/api/v1/notification-settings", {"method": "email", "time_zone": "Europe/Paris", "quiet_start": "22:00",
                                                 "quiet_end": "07:00"}, content_type="application/json", **token)  # fmt: skip
    assert saved.status_code == 200 and saved.json()["quiet_start"] == "22:00:00"

    client.force_login(alice_known)
    page = client.post("/settings/notifications/", {"method": "digest", "time_zone": "UTC", "digest_hour": "7",
                                                    "xmpp_jid": ""})  # fmt: skip
    assert page.status_code == 302
    prefs = NotificationSettings.objects.get(user=alice_known)
    assert (prefs.method, prefs.digest_hour, prefs.quiet_start) == ("digest", 7, None)
    assert b"Tell me of new replies by" in client.get("/settings/notifications/").content
